"""Workload, receiver and checks for bench/soak (standard library only).

  soak.py setup URL OUT   the practice: mothers with plans and app sign-ins
  soak.py run URL OUT     webhook receiver + a day's mix for SOAK_SECONDS, windows of WINDOW
  soak.py check URL OUT   what was acknowledged against what the database and the feeds hold
"""
import http.server
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fleet"))
from load import Api, psql  # noqa: E402

ADMIN = ("admin@soak.example", "soak passphrase 2026")
MOTHER_PASSWORD = "a mother's own passphrase"
MOTHERS = int(os.environ.get("SOAK_MOTHERS", "200"))
WORKERS = int(os.environ.get("SOAK_WORKERS", "6"))
SOAK = float(os.environ.get("SOAK_SECONDS", "1800"))
WINDOW = float(os.environ.get("WINDOW", "300"))
IMPORT_EVERY = float(os.environ.get("IMPORT_EVERY", "300"))
IMPORT_ROWS = int(os.environ.get("IMPORT_ROWS", "5000"))


class Caller:
    """A signed-in person whose access token is renewed by signing in again when it expires."""

    def __init__(self, email, password):
        self.email, self.password, self.token = email, password, None
        self.lock = threading.Lock()

    def sign_in(self, api):
        for _ in range(120):
            status, pair = api.call("POST", "/v1/auth/login", body={"email": self.email, "password": self.password})
            if status == 200:
                self.token = pair["access_token"]
                return
            time.sleep(0.5)
        raise RuntimeError(f"{self.email} cannot sign in")

    def call(self, api, method, path, body=None, headers=None):
        if self.token is None:
            self.sign_in(api)
        status, data = api.call(method, path, self.token, body, headers)
        if status == 401:
            self.sign_in(api)
            status, data = api.call(method, path, self.token, body, headers)
        return status, data


def setup(base, out):
    api = Api(base)
    admin = Caller(*ADMIN)
    status, programs = admin.call(api, "GET", "/v1/programs")
    program = programs["items"][0]["id"]
    mothers = []
    for i in range(MOTHERS):
        email = f"soak.mother.{i}@example.org"
        status, client = admin.call(api, "POST", "/v1/clients", {
            "name": f"Soak Mother {i}", "email": email,
            "delivery_date": time.strftime("%Y-%m-%d", time.gmtime(time.time() - 120 * 86400)),
            "delivery_type": "vaginal", "cleared_for_exercise": True})
        assert status == 201, (status, client)
        status, _ = admin.call(api, "POST", f"/v1/clients/{client['id']}/plan", {"program_id": program})
        assert status == 201, status
        status, invitation = admin.call(api, "POST", f"/v1/clients/{client['id']}/invitation")
        assert status == 201, (status, invitation)
        status, _ = api.call("POST", "/v1/auth/invitations/accept",
                             body={"token": invitation["token"], "password": MOTHER_PASSWORD})
        assert status == 200, status
        mothers.append({"id": client["id"], "email": email})
    with open(f"{out}/setup.json", "w") as f:
        json.dump({"mothers": mothers}, f)


class Receiver(http.server.BaseHTTPRequestHandler):
    """Answers 204, except one request in two hundred that it holds past the sender's timeout
    (a client's events wait behind her hung one: they are delivered in order)."""
    acked, received, lock, rng = {}, set(), threading.Lock(), random.Random(11)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", "0")))
        msg = self.headers.get("webhook-id")
        with Receiver.lock:
            Receiver.received.add(msg)
            hang = Receiver.rng.random() < 1 / 200
        if hang:
            time.sleep(12)  # the dispatcher gives up at 10 s: not an acknowledgement
            return
        with Receiver.lock:
            Receiver.acked[msg] = Receiver.acked.get(msg, 0) + 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
    except (OSError, StopIteration):
        return None


def pool_waiting(port):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
        return next(int(float(line.split()[1])) for line in text.splitlines()
                    if line.startswith("runback_db_pool_waiting_requests"))
    except Exception:
        return None


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else 0.0


def run(base, out):
    with open(f"{out}/setup.json") as f:
        ctx = json.load(f)
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    api = Api(base)
    admin = Caller(*ADMIN)
    status, _ = admin.call(api, "POST", "/v1/webhooks", {
        "url": f"http://127.0.0.1:{receiver.server_address[1]}/hooks",
        "events": ["symptom_report.created", "check_in.created"]})
    assert status == 201, status
    mothers = [dict(m, caller=Caller(m["email"], MOTHER_PASSWORD), lock=threading.Lock(),
                    cursor=None, seen=set()) for m in ctx["mothers"]]

    log, ledger, lock = [], {"report": [], "check_in": [], "session": [], "replays": 0}, threading.Lock()
    imports = {"rows": 0, "runs": 0}
    start = time.time()
    deadline = start + SOAK

    def record(kind, status, started):
        with lock:
            log.append((started - start, kind, status, time.time() - started))

    def until_acknowledged(kind, caller, method, path, body):
        """One logical write: the same id and key until a 2xx (a retry after an error or a
        restart, as the app does)."""
        for _ in range(600):
            started = time.time()
            status, _ = caller.call(api_local(), method, path, body, {"Idempotency-Key": body["id"]})
            record(kind, status, started)
            if 200 <= status < 300:
                return True
            time.sleep(0.2)
        return False

    local = threading.local()

    def api_local():
        if not hasattr(local, "api"):
            local.api = Api(base)
        return local.api

    def follow(m):
        """Her app's sync, from its cursor to the end of her feed."""
        while True:
            path = "/v1/sync?limit=200" + (f"&cursor={m['cursor']}" if m["cursor"] else "")
            started = time.time()
            status, page = m["caller"].call(api_local(), "GET", path)
            record("sync", status, started)
            if status != 200:
                return False
            for c in page["changes"]:
                if c["op"] == "upsert":
                    m["seen"].add((c["entity"], c["id"]))
            m["cursor"] = page["next_cursor"]
            if not page["has_more"]:
                return True

    def worker(n):
        rng = random.Random(n)
        while time.time() < deadline:
            m = rng.choice(mothers)
            roll = rng.random()
            today = time.strftime("%Y-%m-%d", time.gmtime())
            if roll < 0.30:
                started = time.time()
                status, _ = m["caller"].call(api_local(), "GET", "/v1/clients/me/plan/today")
                record("today", status, started)
            elif roll < 0.40:
                if m["lock"].acquire(blocking=False):
                    try:
                        follow(m)
                    finally:
                        m["lock"].release()
            elif roll < 0.55:
                body = {"id": str(uuid.uuid4()), "timing": "daily_life"}
                if rng.random() < 0.1:
                    body["urine_leak"] = "drops"
                if until_acknowledged("report", m["caller"], "POST", "/v1/clients/me/symptom-reports", body):
                    with lock:
                        ledger["report"].append((m["id"], body["id"]))
                    if rng.random() < 0.2:  # the offline queue sent it again
                        started = time.time()
                        status, _ = m["caller"].call(api_local(), "POST", "/v1/clients/me/symptom-reports", body)
                        record("replay", status, started)
                        with lock:
                            ledger["replays"] += 1
            elif roll < 0.62:
                body = {"id": str(uuid.uuid4()), "sleep_hours": rng.choice([5.5, 6.5, 7.5]), "fatigue": rng.randint(2, 6)}
                if until_acknowledged("check_in", m["caller"], "POST", "/v1/clients/me/check-ins", body):
                    with lock:
                        ledger["check_in"].append((m["id"], body["id"]))
            elif roll < 0.72:
                started = time.time()
                status, _ = admin.call(api_local(), "GET", "/v1/clients?limit=50")
                record("list", status, started)
            elif roll < 0.77:
                started = time.time()
                status, inbox = admin.call(api_local(), "GET", "/v1/flags?limit=20")
                record("flags", status, started)
                if status == 200 and inbox["items"]:
                    flag = rng.choice(inbox["items"])
                    started = time.time()
                    status, _ = admin.call(api_local(), "POST", f"/v1/flags/{flag['id']}/resolve",
                                           {"note": "Called her; advice given."})
                    record("resolve", status if status != 409 else 200, started)
            elif roll < 0.87:
                body = {"id": str(uuid.uuid4()), "performed_on": today, "completed": True, "duration_minutes": 20}
                if until_acknowledged("session", admin, "POST", f"/v1/clients/{m['id']}/sessions", body):
                    with lock:
                        ledger["session"].append((m["id"], body["id"]))
            else:
                started = time.time()
                status, _ = admin.call(api_local(), "GET", f"/v1/clients/{m['id']}/plan")
                record("plan", status, started)

    def importer():
        k = 0
        while time.time() + 5 < deadline:
            k += 1
            rows = ["external_id,name,email,delivery_date,delivery_type"] + [
                f"SOAK-{k:03d}-{i:06d},Imported {i},imp{k}.{i}@soak.example,2026-09-01,vaginal"
                for i in range(IMPORT_ROWS)]
            key = f"nightly-{k}"
            for _ in range(300):
                started = time.time()
                a = api_local()
                status, result = None, None
                if admin.token is None:
                    admin.sign_in(a)
                req = urllib.request.Request(f"{base}/v1/imports/clients", data="\n".join(rows).encode(), method="POST",
                                             headers={"content-type": "text/csv", "idempotency-key": key,
                                                      "authorization": f"Bearer {admin.token}"})
                try:
                    with urllib.request.urlopen(req, timeout=120) as res:
                        status, result = res.status, json.loads(res.read())
                except urllib.error.HTTPError as e:
                    status = e.code
                    if status == 401:
                        admin.sign_in(a)
                except OSError:
                    status = 0
                record("import", status, started)
                if status and 200 <= status < 300:
                    with lock:
                        imports["rows"] += result["created"]
                        imports["runs"] += 1
                    break
                time.sleep(1)
            time.sleep(max(0.0, IMPORT_EVERY - (time.time() - started)))

    samples = []

    def sampler():
        while time.time() < deadline:
            with open(f"{out}/pids") as f:
                pids = f.read().split()
            with open(f"{out}/ports") as f:
                ports = f.read().split()
            samples.append((time.time() - start, [rss_kib(p) for p in pids], [pool_waiting(p) for p in ports]))
            time.sleep(5)

    def windows():
        w = 0
        while True:
            w += 1
            end = min(start + w * WINDOW, deadline)
            time.sleep(max(0.0, end - time.time()))
            lo, hi = (w - 1) * WINDOW, end - start
            with lock:
                rows = [r for r in log if lo <= r[0] < hi]
            statuses = {}
            for r in rows:
                statuses[r[2]] = statuses.get(r[2], 0) + 1
            errors = {s: n for s, n in statuses.items() if not 200 <= s < 300}
            lat = [r[3] * 1000 for r in rows]
            in_window = [s for s in samples if lo <= s[0] < hi]
            rss = in_window[-1][1] if in_window else []
            waits = max((max((x or 0) for x in s[2]) for s in in_window), default=0)
            print(f"   {lo / 60:5.1f}-{hi / 60:5.1f} min  requests {len(rows):6}  errors {errors or 0}  "
                  f"p50 {statistics.median(lat) if lat else 0:6.1f} ms  p99 {pct(lat, 0.99):7.1f} ms  "
                  f"RSS MiB {[round((k or 0) / 1024) for k in rss]}  pool waits (max) {waits}", flush=True)
            if end >= deadline:
                return

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    threads += [threading.Thread(target=importer), threading.Thread(target=sampler), threading.Thread(target=windows)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Let the webhooks drain (hung deliveries are retried), then each mother's app syncs to the end.
    for _ in range(300):
        if int(psql("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")) == 0:
            break
        time.sleep(1)
    time.sleep(1)
    for m in mothers:
        for _ in range(30):
            if follow(m):
                break
            time.sleep(1)
    with Receiver.lock:
        acked = dict(Receiver.acked)
    result = {
        "requests": len(log), "statuses": {}, "ledger": ledger, "imports": imports, "acked": acked,
        "missed": {m["id"]: [] for m in mothers}, "samples": samples,
    }
    for r in log:
        result["statuses"][str(r[2])] = result["statuses"].get(str(r[2]), 0) + 1
    entity = {"report": "symptom_report", "check_in": "check_in", "session": "session"}
    for kind in ("report", "check_in", "session"):
        for client, rid in ledger[kind]:
            m = next(x for x in mothers if x["id"] == client)
            if (entity[kind], rid) not in m["seen"]:
                result["missed"][client].append(rid)
    with open(f"{out}/soak.json", "w") as f:
        json.dump(result, f)


def check(base, out):
    with open(f"{out}/soak.json") as f:
        r = json.load(f)
    ledger = r["ledger"]

    def in_db(table, ids):
        if not ids:
            return {}
        # Tens of thousands of ids: the statement goes through psql's standard input.
        sql = f"SELECT id, count(*) FROM {table} WHERE id IN ({','.join(repr(i) for i in ids)}) GROUP BY id"
        rows = subprocess.run(["psql", os.environ["DATABASE_URL"], "-qAt"], input=sql, check=True,
                              capture_output=True, text=True).stdout
        return {line.split("|")[0]: int(line.split("|")[1]) for line in rows.splitlines() if line}

    lost = duplicated = 0
    for kind, table in (("report", "symptom_reports"), ("check_in", "check_ins"), ("session", "session_logs")):
        ids = [rid for _, rid in ledger[kind]]
        found = in_db(table, ids)
        lost += sum(1 for i in ids if i not in found)
        duplicated += sum(1 for n in found.values() if n > 1) + (len(ids) - len(set(ids)))
    imported = int(psql("SELECT count(*) FROM clients WHERE external_id LIKE 'SOAK-%'"))
    events = int(psql("SELECT count(*) FROM webhook_events WHERE event_type IN ('symptom_report.created', 'check_in.created')"))
    event_ids = set(psql("SELECT 'msg_' || replace(id::text, '-', '') FROM webhook_events "
                         "WHERE event_type IN ('symptom_report.created', 'check_in.created')").split())
    acked = r["acked"]
    webhooks_lost = len(event_ids - set(acked))
    webhooks_duplicated = sum(1 for n in acked.values() if n > 1)
    missed = sum(len(v) for v in r["missed"].values())
    # RSS: the instances' total at the first sample after minute 5 against the last one.
    samples = r["samples"]
    early = next((s for s in samples if s[0] >= 300), samples[0] if samples else None)
    late = samples[-1] if samples else None
    total = lambda s: sum(k or 0 for k in s[1])
    growth = (total(late) - total(early)) / total(early) * 100 if early and late and total(early) else 0.0
    summary = {
        "requests": r["requests"], "statuses": r["statuses"],
        "reports": len(ledger["report"]), "check_ins": len(ledger["check_in"]), "sessions": len(ledger["session"]),
        "offline_replays": ledger["replays"], "imports": r["imports"], "imported_in_db": imported,
        "acknowledged_writes_lost": lost, "acknowledged_writes_duplicated": duplicated,
        "webhook_events": events, "webhooks_lost": webhooks_lost, "webhooks_duplicated": webhooks_duplicated,
        "feeds_that_missed_a_change": missed,
        "rss_growth_percent_minute_5_to_end": round(growth, 1),
    }
    print(json.dumps(summary, indent=2))
    problems = []
    if lost or duplicated:
        problems.append(f"writes lost {lost}, duplicated {duplicated}")
    if imported != r["imports"]["rows"]:
        problems.append(f"imports acknowledged {r['imports']['rows']} rows, the database holds {imported}")
    if webhooks_lost or webhooks_duplicated:
        problems.append(f"webhooks lost {webhooks_lost}, duplicated {webhooks_duplicated}")
    if missed:
        problems.append(f"{missed} changes missing from the feeds")
    if problems:
        print("SOAK FAILED:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"soak: {r['requests']} requests; nothing lost or duplicated; every feed complete; "
          f"RSS {growth:+.1f} % from minute 5 to the end")


if __name__ == "__main__":
    {"setup": setup, "run": run, "check": check}[sys.argv[1]](sys.argv[2], sys.argv[3])
