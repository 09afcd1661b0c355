"""Load, receiver and checks for tests/fleet/run (standard library only).

  load.py setup URL OUT   a coach's practice: 4 clients with plans and app sign-ins
  load.py run URL OUT     webhook receiver + mixed reads and writes for LOAD_SECONDS
  load.py check URL OUT   what the clients saw, what the database holds, throttles
"""
import http.client
import http.server
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

PASSWORD = "fleet passphrase 2026"
CLIENT_PASSWORD = "a mother's own passphrase"
LOAD_SECONDS = float(os.environ.get("LOAD_SECONDS", "18"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "6"))


class Api:
    """One keep-alive connection to the load balancer."""

    def __init__(self, base):
        self.url = urlparse(base)
        self.conn = None

    def call(self, method, path, token=None, body=None, headers=None):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=15)
                self.conn.request(method, path, body=data, headers=headers)
                res = self.conn.getresponse()
                raw = res.read()
                if res.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return res.status, (json.loads(raw) if raw and raw[:1] in b"{[" else None)
            except (http.client.HTTPException, OSError) as e:
                # A keep-alive connection the balancer closed between requests: a new one.
                self.conn = None
                if attempt == 1:
                    return 0, {"error": str(e)}
        return 0, None


def psql(sql):
    out = subprocess.run(["psql", os.environ["DATABASE_URL"], "-qAtc", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def setup(base, out):
    api = Api(base)
    status, pair = api.call("POST", "/v1/auth/login", body={"email": "admin@fleet.example", "password": PASSWORD})
    assert status == 200, (status, pair)
    admin = pair["access_token"]
    status, programs = api.call("GET", "/v1/programs", admin)
    program = programs["items"][0]["id"]
    clients = []
    for i in range(4):
        status, client = api.call("POST", "/v1/clients", admin, {
            "name": f"Fleet Client {i}", "email": f"fleet.client.{i}@example.org",
            "delivery_date": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 100 * 86400)),
            "delivery_type": "vaginal", "cleared_for_exercise": True})
        assert status == 201, (status, client)
        status, _ = api.call("POST", f"/v1/clients/{client['id']}/plan", admin, {"program_id": program})
        assert status == 201, status
        status, invitation = api.call("POST", f"/v1/clients/{client['id']}/invitation", admin)
        assert status == 201, (status, invitation)
        status, pair = api.call("POST", "/v1/auth/invitations/accept",
                                body={"token": invitation["token"], "password": CLIENT_PASSWORD})
        assert status == 200, (status, pair)
        clients.append({"id": client["id"], "token": pair["access_token"]})
    with open(f"{out}/setup.json", "w") as f:
        json.dump({"admin": admin, "clients": clients}, f)


class Receiver(http.server.BaseHTTPRequestHandler):
    seen = {}
    # Per client, the reports her events name, in the order they arrived.
    arrivals = {}
    lock = threading.Lock()

    def do_POST(self):
        event = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        with Receiver.lock:
            msg = self.headers.get("webhook-id")
            Receiver.seen[msg] = Receiver.seen.get(msg, 0) + 1
            data = event.get("data", {})
            Receiver.arrivals.setdefault(data.get("client_id"), []).append(data.get("report_id") or data.get("id"))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def run(base, out):
    with open(f"{out}/setup.json") as f:
        ctx = json.load(f)
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    api = Api(base)
    status, endpoint = api.call("POST", "/v1/webhooks", ctx["admin"], {
        "url": f"http://127.0.0.1:{receiver.server_address[1]}/hooks",
        "events": ["symptom_report.created"]})
    assert status == 201, (status, endpoint)

    results = {"requests": 0, "failures": [], "latencies": [], "reports": [], "sessions": []}
    lock = threading.Lock()
    deadline = time.time() + LOAD_SECONDS

    def worker(n):
        api = Api(base)
        rng = random.Random(n)
        while time.time() < deadline:
            client = rng.choice(ctx["clients"])
            roll = rng.random()
            started = time.time()
            if roll < 0.5:
                kind, status, _ = "read", *api.call("GET", "/v1/clients/me/plan", client["token"])
            elif roll < 0.65:
                kind, status, _ = "read", *api.call("GET", f"/v1/clients/{client['id']}/plan", ctx["admin"])
            elif roll < 0.85:
                rid = str(uuid.uuid4())
                kind, status, _ = "report", *api.call(
                    "POST", "/v1/clients/me/symptom-reports", client["token"],
                    {"id": rid, "timing": "daily_life"}, {"Idempotency-Key": rid})
            else:
                sid = str(uuid.uuid4())
                kind, status, _ = "session", *api.call(
                    "POST", f"/v1/clients/{client['id']}/sessions", ctx["admin"],
                    {"id": sid, "performed_on": time.strftime("%Y-%m-%d", time.gmtime()), "completed": True},
                    {"Idempotency-Key": sid})
            elapsed = time.time() - started
            with lock:
                results["requests"] += 1
                results["latencies"].append(elapsed)
                if not 200 <= status < 300:
                    results["failures"].append({"kind": kind, "status": status, "at": started})
                elif kind == "report":
                    results["reports"].append(rid)
                elif kind == "session":
                    results["sessions"].append(sid)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Let the webhooks drain (every delivery delivered), then count what arrived.
    for _ in range(150):
        pending = int(psql("SELECT count(*) FROM webhook_deliveries WHERE status <> 'delivered'"))
        if pending == 0:
            break
        time.sleep(0.2)
    time.sleep(1)
    with Receiver.lock:
        results["webhooks"] = dict(Receiver.seen)
        results["arrivals"] = dict(Receiver.arrivals)
    with open(f"{out}/load.json", "w") as f:
        json.dump(results, f)


def check(base, out):
    with open(f"{out}/load.json") as f:
        r = json.load(f)
    lat = sorted(r["latencies"])
    p = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1)
    reports, sessions = r["reports"], r["sessions"]
    in_db = lambda table, ids: int(psql(
        f"SELECT count(*) FROM {table} WHERE id IN ({','.join(repr(i) for i in ids) or 'NULL'})"))
    reports_in_db, sessions_in_db = in_db("symptom_reports", reports), in_db("session_logs", sessions)
    delivered = int(psql("SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'"))
    events = int(psql("SELECT count(*) FROM webhook_events WHERE event_type = 'symptom_report.created'"))
    duplicates = sum(n - 1 for n in r["webhooks"].values() if n > 1)
    # Each client's events arrived in the order her reports were written (three dispatchers).
    out_of_order = 0
    for client, reports_seen in r["arrivals"].items():
        ids = [i for i in reports_seen if i]
        if not ids:
            continue
        expected = [
            e for e in psql(
                "SELECT string_agg(payload->'data'->>'report_id', ',' ORDER BY seq) FROM webhook_events "
                f"WHERE client_id = '{client}' AND event_type = 'symptom_report.created'").split(",") if e]
        if ids != expected:
            out_of_order += 1
    # The login throttle (5 a minute per address) holds across the three instances.
    api = Api(base)
    statuses = [api.call("POST", "/v1/auth/login", body={"email": "nobody@fleet.example", "password": "wrong"})[0]
                for _ in range(8)]
    summary = {
        "requests": r["requests"], "failures": len(r["failures"]),
        "p50_ms": p(0.5), "p99_ms": p(0.99), "max_ms": round(lat[-1] * 1000, 1),
        "reports_acknowledged": len(reports), "reports_in_db": reports_in_db,
        "sessions_acknowledged": len(sessions), "sessions_in_db": sessions_in_db,
        "webhook_events": events, "webhooks_delivered": delivered,
        "webhooks_received": len(r["webhooks"]), "webhook_duplicates": duplicates,
        "clients_with_events_out_of_order": out_of_order,
        "login_statuses": statuses,
    }
    with open(f"{out}/summary.json", "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))
    problems = []
    if r["failures"]:
        problems.append(f"{len(r['failures'])} requests failed: {r['failures'][:5]}")
    if reports_in_db != len(reports) or sessions_in_db != len(sessions):
        problems.append("an acknowledged write is missing")
    if len(set(reports)) != len(reports) or len(set(sessions)) != len(sessions):
        problems.append("an id was acknowledged twice")
    if events != len(reports) or len(r["webhooks"]) != events or delivered != events or duplicates:
        problems.append("webhooks were not delivered exactly once each")
    if out_of_order:
        problems.append(f"{out_of_order} clients' events arrived out of order")
    if statuses.count(401) > 5 or 429 not in statuses:
        problems.append(f"the login throttle did not hold across instances: {statuses}")
    if problems:
        print("FLEET TEST FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"fleet: {r['requests']} requests through a rolling restart, 0 failed, "
          f"p99 {summary['p99_ms']} ms; every write once; webhooks once; throttle held")


if __name__ == "__main__":
    {"setup": setup, "run": run, "check": check}[sys.argv[1]](sys.argv[2], sys.argv[3])
