#!/usr/bin/env python3
"""The change feed against plain list reads of the same rows, in one run on one database.

A coach with 200 clients and 90 days of history (three sessions a week, a next-day report after
each, her plans spread over the stages). Measured, each with its pages, bytes, wall time, and
the CPU time of the server and of every PostgreSQL process per record served:

  first sync     GET /v1/sync from no cursor to the end (limit 500)
  list read      what an app does without the feed: the client list, then each client's plan,
                 transitions, sessions, readiness results and reports, page by page (limit 200)
  a day later    each client logs a session and a report through the API; then
  incremental    GET /v1/sync from the first sync's cursor
  list, updated  the same list reads with `updated_since` where the API has it

Usage: bench/sync.py BINARY DATABASE_URL PORT   (bench/sync builds and calls it)
"""
import atexit, csv, datetime, http.client, io, json, os, random, signal, subprocess, sys, time, uuid

BINARY, DB, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
CLIENTS, DAYS = int(os.environ.get("CLIENTS", "200")), int(os.environ.get("DAYS", "90"))
PASSWORD = "bench passphrase 2026"
random.seed(7)
TICK = os.sysconf("SC_CLK_TCK")
ENV = dict(os.environ, DATABASE_URL=DB, BIND_ADDR=f"127.0.0.1:{PORT}", RUST_LOG="warn",
           JWT_SECRET=os.environ.get("JWT_SECRET") or os.urandom(36).hex(),
           WEBHOOK_SECRET_KEY=os.environ.get("WEBHOOK_SECRET_KEY") or os.urandom(32).hex(),
           LOGIN_ATTEMPTS_PER_MINUTE="100000")


class Api:
    """One kept-alive connection, counting requests and bytes."""

    def __init__(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT)
        self.requests = self.bytes = 0

    def call(self, method, path, token=None, body=None, content_type="application/json"):
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.conn.request(method, path, body=data, headers=headers)
        res = self.conn.getresponse()
        raw = res.read()
        self.requests += 1
        self.bytes += len(raw)
        if res.status >= 400:
            raise RuntimeError(f"{method} {path}: {res.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None


SERVERS = []
atexit.register(lambda: [p.kill() for p in SERVERS if p.poll() is None])


def start_server():
    proc = subprocess.Popen([BINARY], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    SERVERS.append(proc)
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not become ready")


def stop_server(proc):
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)


def cpu_of(pids):
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / TICK


def postgres_pids():
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if open(f"/proc/{pid}/comm").read().strip() == "postgres":
                pids.append(pid)
        except OSError:
            pass
    return pids


def measure(name, server, fn):
    """Runs fn(api) -> records; returns a result row."""
    api = Api()
    pg = postgres_pids()
    s0, d0, t0 = cpu_of([server.pid]), cpu_of(pg), time.perf_counter()
    records = fn(api)
    wall = time.perf_counter() - t0
    s1, d1 = cpu_of([server.pid]), cpu_of(pg + [p for p in postgres_pids() if p not in pg])
    return {"scenario": name, "records": records, "requests": api.requests, "kb": api.bytes / 1024,
            "ms": wall * 1000, "server_us": (s1 - s0) * 1e6 / max(records, 1),
            "db_us": (d1 - d0) * 1e6 / max(records, 1)}


def psql(sql):
    done = subprocess.run(["psql", DB, "-qAtc", sql], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr)


def login(api, email):
    return api.call("POST", "/v1/auth/login", body={"email": email, "password": PASSWORD})["access_token"]


def seed(server):
    api = Api()
    admin = login(api, "admin@bench.example")
    coach = api.call("POST", "/v1/coaches", admin, {"name": "Coach Sync", "email": "sync@bench.example"})
    api.call("POST", "/v1/auth/invitations/accept", None,
             {"token": coach["invitation"]["token"], "password": PASSWORD})
    today = datetime.date.today()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["external_id", "name", "email", "delivery_date", "delivery_type", "cleared_for_exercise",
                "coach_email", "program"])
    for i in range(CLIENTS):
        w.writerow([f"S-{i:04d}", f"Client {i}", f"client{i}@sync.example",
                    (today - datetime.timedelta(days=DAYS + random.randint(30, 120))).isoformat(),
                    random.choice(["vaginal", "assisted_vaginal", "caesarean"]), "yes",
                    "sync@bench.example", "return_to_running_postpartum"])
    api.call("POST", "/v1/imports/clients", admin, buf.getvalue().encode(), "text/csv")
    psql(f"""
    INSERT INTO session_logs (id, organization_id, client_id, plan_id, performed_on, stage, level, completed,
                              duration_minutes, rpe, request_digest, created_at, updated_at)
    SELECT gen_random_uuid(), p.organization_id, p.client_id, p.id, current_date - d, p.stage, p.level, true,
           25, 4, '\\x00', now() - make_interval(days => d), now() - make_interval(days => d)
      FROM plans p CROSS JOIN generate_series(1, {DAYS}) d WHERE d % 7 IN (1, 3, 5);
    INSERT INTO symptom_reports (id, organization_id, client_id, plan_id, stage, level, timing, reported_on,
                                 symptoms, triage_level, findings, advisories, max_pain, pelvic_symptom,
                                 request_digest, created_at, updated_at)
    SELECT gen_random_uuid(), s.organization_id, s.client_id, s.plan_id, s.stage, s.level, 'next_day',
           s.performed_on + 1, '{{}}', 'green', '[]', '[]', 0, false, '\\x00', s.created_at, s.created_at
      FROM session_logs s;
    INSERT INTO users (id, organization_id, role, name, email, client_id, password_hash)
    SELECT gen_random_uuid(), c.organization_id, 'client', c.name, c.email, c.id,
           (SELECT password_hash FROM users WHERE email = 'sync@bench.example')
      FROM clients c;
    """)
    psql("VACUUM ANALYZE")


def first_sync(token, cursor_out):
    def run(api):
        cursor, n = None, 0
        while True:
            page = api.call("GET", "/v1/sync?limit=500" + (f"&cursor={cursor}" if cursor else ""), token)
            n += len(page["changes"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                cursor_out.append(cursor)
                return n
    return run


def list_read(token, since=None):
    def run(api):
        n, cursor, ids = 0, None, []
        while True:
            page = api.call("GET", "/v1/clients?limit=200" + (f"&cursor={cursor}" if cursor else ""), token)
            ids += [c["id"] for c in page["items"]]
            n += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        updated = f"&updated_since={since}" if since else ""
        for cid in ids:
            api.call("GET", f"/v1/clients/{cid}/plan", token)
            n += 1
            for path, filt in [("plan/transitions", ""), ("sessions", updated),
                               ("readiness-tests", ""), ("symptom-reports", updated)]:
                cursor = None
                while True:
                    page = api.call("GET", f"/v1/clients/{cid}/{path}?limit=200{filt}"
                                    + (f"&cursor={cursor}" if cursor else ""), token)
                    n += len(page["items"])
                    cursor = page["next_cursor"]
                    if not cursor:
                        break
        return n
    return run


def a_day_of_changes(api, admin):
    """Each client logs today's session and reports on it, as her app would."""
    rows = subprocess.run(["psql", DB, "-qAtc", "SELECT email FROM users WHERE role = 'client'"],
                          check=True, capture_output=True, text=True).stdout.split()
    today = datetime.date.today().isoformat()
    for email in rows:
        token = login(api, email)
        api.call("POST", "/v1/clients/me/sessions", token,
                 {"id": str(uuid.uuid4()), "performed_on": today, "completed": True, "duration_minutes": 25})
        api.call("POST", "/v1/clients/me/symptom-reports", token,
                 {"id": str(uuid.uuid4()), "timing": "immediately_after", "reported_on": today})


def main():
    server = start_server()
    seed(server)
    stop_server(server)
    # A restart runs the feed's upkeep at once, as an established practice's feed would be.
    server = start_server()
    api = Api()
    coach = login(api, "sync@bench.example")
    admin = login(api, "admin@bench.example")
    rows_sql = subprocess.run(["psql", DB, "-qAtc", "SELECT count(*) FROM sync_changes"],
                              check=True, capture_output=True, text=True).stdout.strip()
    print(f"   {CLIENTS} clients, {DAYS} days of history; the feed's log holds {rows_sql} rows")
    results, cursor = [], []
    # Warm both paths once, then measure.
    first_sync(coach, [])(Api())
    list_read(coach)(Api())
    results.append(measure("first sync (feed)", server, first_sync(coach, cursor)))
    results.append(measure("list reads, all rows", server, list_read(coach)))
    since = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    # A fresh connection: the first one sat idle past the keep-alive timeout while measuring.
    a_day_of_changes(Api(), admin)
    incremental = cursor[0]

    def inc(api):
        cur, n = incremental, 0
        while True:
            page = api.call("GET", f"/v1/sync?limit=500&cursor={cur}", coach)
            n += len(page["changes"])
            cur = page["next_cursor"]
            if not page["has_more"]:
                return n
    results.append(measure("incremental sync (feed)", server, inc))
    results.append(measure("list reads, updated_since", server, list_read(coach, since)))
    stop_server(server)
    print(f"{'scenario':28} {'records':>8} {'requests':>9} {'KiB':>9} {'ms':>9} {'server µs/rec':>14} {'db µs/rec':>10}")
    for r in results:
        print(f"{r['scenario']:28} {r['records']:>8} {r['requests']:>9} {r['kb']:>9.0f} {r['ms']:>9.0f} "
              f"{r['server_us']:>14.0f} {r['db_us']:>10.0f}")
    f, l, i, u = results
    print(f"feed / list reads: first sync {l['ms'] / f['ms']:.1f}× faster with {f['requests']} requests "
          f"against {l['requests']}; a day later {u['ms'] / i['ms']:.1f}× faster")


main()
