#!/usr/bin/env python3
"""bench/scale's helper: seeds a practice of a given size, reads wrk's answers, runs EXPLAIN
(ANALYZE, BUFFERS) of each scenario's main query, and draws the table and the plot.

  scale.py import-csv ROWS PATH                    the CSV the imports post
  scale.py seed BASE SECRET DATABASE_URL DIR SIZE ORGS
                                                   the practice, and DIR/<scenario>.txt for wrk
  scale.py wrk-result OUT SIZE ORGS SCENARIO CONNECTIONS WRK_OUTPUT     appends to OUT/results.jsonl
  scale.py import-result OUT SIZE ORGS ROWS SECONDS ANSWER_JSON
  scale.py explain DATABASE_URL DIR SIZE ORGS SCENARIO...
  scale.py report OUT [SAVE_SVG_TO]

The practice (`seed`): SIZE clients in all. The measured part is the same at every size: the
organization made by `runback admin create`, MEASURED_COACHES coaches (default 2) made and
signed in through the API, each with CASELOAD clients (default 100) imported through the API,
each client with a live plan and a year of history (three sessions a week and a next-day report
after each), the last 90 days of it at her plan's current step (jogging, level 4), so that a
report reads 90 days of her history at the step. The rest of the practice is written with
SQL: coaches of CASELOAD clients each, every client with a live plan spread over the stages,
BACKGROUND_DAYS days of the same history (default 28), an open amber flag for one in twenty,
and a login for each. With ORGS > 1 the rest is spread over ORGS - 1 other organizations of
the same shape, and the measured organization holds only the measured caseloads (200 clients
with the defaults, against about 100 in each of the others at 100,000 clients in all).
After the measured coaches' feeds have been read to their ends (their first syncs), a day
passes: three in seven of the practice's clients, and every measured client, log a session and
a report, so that an incremental sync finds her clients' day among the whole practice's.
"""
import base64, csv, datetime, hashlib, hmac, http.client, json, math, os, random, re, subprocess, sys, time, uuid
from urllib.parse import urlsplit

PASSWORD = "bench passphrase 2026"
ADMIN_EMAIL = "admin@bench.example"
CASELOAD = int(os.environ.get("CASELOAD", "100"))
MEASURED_COACHES = int(os.environ.get("MEASURED_COACHES", "2"))
BACKGROUND_DAYS = int(os.environ.get("BACKGROUND_DAYS", "28"))
YEAR_DAYS = 365
STEP_DAYS = 90
SCENARIOS = ["list_coach", "list_admin", "sync_first", "sync_incremental", "timeline", "report"]
LABELS = {
    "list_coach": "GET /v1/clients?limit=50 (her caseload)",
    "list_admin": "GET /v1/clients?limit=50 (whole practice)",
    "sync_first": "GET /v1/sync?limit=500 (first sync)",
    "sync_incremental": "GET /v1/sync?limit=500&cursor (a day later)",
    "timeline": "GET /v1/clients/{id}/timeline (a year)",
    "report": "POST /v1/clients/me/symptom-reports",
    "import": "POST /v1/imports/clients (rows/s)",
}


# ---------------------------------------------------------------- small tools

class Api:
    """Calls to the server, each on a connection of its own (seeding leaves minutes between
    calls, longer than the server keeps an idle connection open)."""

    def __init__(self, base):
        u = urlsplit(base)
        self.host, self.port = u.hostname, u.port

    def call(self, method, path, token=None, body=None, content_type="application/json"):
        headers = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=600)
        conn.request(method, path, body=data, headers=headers)
        res = conn.getresponse()
        raw = res.read()
        conn.close()
        if res.status >= 400:
            raise RuntimeError(f"{method} {path}: {res.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def login(self, email):
        return self.call("POST", "/v1/auth/login", body={"email": email, "password": PASSWORD})["access_token"]


def psql(db, sql, *args):
    done = subprocess.run(["psql", db, "-X", "-v", "ON_ERROR_STOP=1", "-qAt", *args],
                          input=sql, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return done.stdout


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(secret, sub, org, role, cid=None):
    """An access token as the server mints it (HS256, kid = first 8 bytes of SHA-256 of the secret)."""
    now = int(time.time())
    claims = {"sub": sub, "org": org, "role": role, "iss": "runback", "aud": "runback-api",
              "iat": now, "nbf": now, "exp": now + 900, "jti": str(uuid.uuid4())}
    if cid:
        claims["cid"] = cid
    kid = hashlib.sha256(secret.encode()).hexdigest()[:16]
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    sig = b64(hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def list_cursor(client_id):
    return b64(uuid.UUID(client_id).bytes)


def sync_position(cursor):
    """(txid, seq) of a /v1/sync cursor: 24 bytes, txid, seq and the pruning horizon, big-endian."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:16], "big")


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


# ---------------------------------------------------------------- the CSV of the imports

def import_csv(rows, path):
    random.seed(7)
    first = ["Ana", "Bea", "Chloe", "Dara", "Esi", "Freya", "Grace", "Hana", "Imani", "Jo", "Kavya", "Lena"]
    last = ["Lima", "Souza", "Martin", "O'Neill", "Mensah", "Lund", "Kim", "Suzuki", "Cole", "Park", "Rao", "Vogel"]
    types = ["vaginal", "assisted_vaginal", "caesarean"]
    t = today()
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "name", "email", "delivery_date", "delivery_type"])
        for i in range(rows):
            w.writerow([f"I-{i:07d}", f"{random.choice(first)} {random.choice(last)}", f"import{i}@import.example",
                        (t - datetime.timedelta(days=random.randint(14, 400))).isoformat(), random.choice(types)])


# ---------------------------------------------------------------- seeding

# Time-ordered ids (UUIDv7) at a given instant, as the service makes them.
UUID7 = """
CREATE FUNCTION pg_temp.uuid7(ts timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7'
            || substr(r, 14, 3) || substr(r, 17, 16))::uuid
      FROM (SELECT replace(gen_random_uuid()::text, '-', '') AS r) x
$$;
"""


def seed_sql(org0, size, orgs, background):
    """The practice beyond the measured caseloads, and the measured caseloads' history."""
    k_per_org = 0
    if background:
        if orgs == 1:
            k_per_org = math.ceil(background / CASELOAD)
        else:
            k_per_org = max(1, math.ceil(math.ceil(background / (orgs - 1)) / CASELOAD))
    org_of = "0" if orgs == 1 else f"1 + (i - 1) % {orgs - 1}"
    nth_in_org = "(i - 1)" if orgs == 1 else f"(i - 1) / {orgs - 1}"
    coach_orgs = "o.n = 0" if orgs == 1 else "o.n > 0"
    return f"""
\\timing on
{UUID7}
-- The organizations: 0 is the measured one; the others copy its program.
CREATE TEMP TABLE s_orgs AS
    SELECT n, CASE WHEN n = 0 THEN '{org0}'::uuid ELSE gen_random_uuid() END AS id,
           CASE WHEN n = 0 THEN (SELECT id FROM programs WHERE organization_id = '{org0}')
                ELSE gen_random_uuid() END AS program_id,
           (SELECT current_version FROM programs WHERE organization_id = '{org0}') AS version
      FROM generate_series(0, {orgs - 1}) n;
INSERT INTO organizations (id, name) SELECT id, 'Scale practice ' || n FROM s_orgs WHERE n > 0;
INSERT INTO programs (id, organization_id, key, name, current_version)
SELECT s.program_id, s.id, p.key, p.name, p.current_version
  FROM s_orgs s, programs p WHERE p.organization_id = '{org0}' AND s.n > 0;
INSERT INTO program_versions (program_id, version, name, stages, published_at, organization_id)
SELECT s.program_id, v.version, v.name, v.stages, v.published_at, s.id
  FROM s_orgs s, program_versions v WHERE v.organization_id = '{org0}' AND s.n > 0;

-- Coaches of {CASELOAD} clients each.
CREATE TEMP TABLE s_coaches AS
    SELECT o.n AS org_n, o.id AS org_id, k, pg_temp.uuid7(now() - interval '400 days') AS id
      FROM s_orgs o, generate_series(0, {k_per_org - 1}) k WHERE {coach_orgs};
INSERT INTO users (id, organization_id, role, name, email, created_at, updated_at)
SELECT id, org_id, 'coach', 'Coach ' || org_n || '-' || k, 'coach' || org_n || '-' || k || '@scale.example',
       now() - interval '400 days', now() - interval '400 days'
  FROM s_coaches;

-- The clients, each with a live plan and a login.
ANALYZE s_orgs;
ANALYZE s_coaches;
CREATE TEMP TABLE s_clients AS
    SELECT i, o.id AS org_id, o.program_id, o.version, c.id AS coach_id,
           pg_temp.uuid7(x.created_at) AS id, pg_temp.uuid7(x.created_at) AS plan_id, x.created_at,
           (ARRAY['crawling', 'walking_hills', 'lunges', 'jogging'])[1 + i % 4] AS stage,
           CASE WHEN i % 4 = 3 THEN 1 + i % 18 END AS level
      FROM generate_series(1, {background}) i
      CROSS JOIN LATERAL (SELECT now() - make_interval(days => 20 + i % 300, secs => i % 86400) AS created_at) x
      JOIN s_orgs o ON o.n = {org_of}
      JOIN s_coaches c ON c.org_n = o.n AND c.k = {nth_in_org} % {max(k_per_org, 1)};
ANALYZE s_clients;
INSERT INTO clients (id, organization_id, external_id, name, email, coach_id, delivery_date, delivery_type,
                     cleared_for_exercise, status, created_at, updated_at)
SELECT id, org_id, 'BG-' || lpad(i::text, 7, '0'), 'Client ' || i, 'client' || i || '@scale.example', coach_id,
       created_at::date - 30, (ARRAY['vaginal', 'assisted_vaginal', 'caesarean'])[1 + i % 3], true,
       CASE WHEN i % 50 = 0 THEN 'paused' ELSE 'active' END, created_at, created_at
  FROM s_clients ORDER BY id;
INSERT INTO plans (id, organization_id, client_id, program_id, program_version, stage, level, status,
                   started_on, step_started_at, created_at, updated_at)
SELECT plan_id, org_id, id, program_id, version, stage, level, 'active', created_at::date,
       greatest(created_at, now() - interval '{BACKGROUND_DAYS} days'), created_at, created_at
  FROM s_clients ORDER BY plan_id;
INSERT INTO users (id, organization_id, role, name, email, client_id, created_at, updated_at)
SELECT pg_temp.uuid7(created_at), org_id, 'client', 'Client ' || i, 'client' || i || '@scale.example', id,
       created_at, created_at
  FROM s_clients;

-- Their history: three sessions a week, and a next-day report after each. Written client by
-- client, so that the indexes that lead with the client grow at their ends.
INSERT INTO session_logs (id, organization_id, client_id, plan_id, performed_on, stage, level, completed,
                          duration_minutes, rpe, request_digest, created_at, updated_at)
SELECT pg_temp.uuid7(t.at), c.org_id, c.id, c.plan_id, current_date - d, c.stage, c.level, true, 25, 4, '\\x00',
       t.at, t.at
  FROM s_clients c
 CROSS JOIN generate_series(1, {BACKGROUND_DAYS}) d
 CROSS JOIN LATERAL (SELECT (current_date - d) + time '07:00' + make_interval(secs => c.i % 36000) AS at) t
 WHERE d % 7 IN (1, 3, 5)
 ORDER BY c.id, t.at;
INSERT INTO symptom_reports (id, organization_id, client_id, plan_id, stage, level, timing, reported_on, symptoms,
                             triage_level, findings, advisories, max_pain, pelvic_symptom, request_digest,
                             created_at, updated_at)
SELECT pg_temp.uuid7(t.at), c.org_id, c.id, c.plan_id, c.stage, c.level, 'next_day', current_date - d + 1, '{{}}',
       'green', '[]', '[]', 0, false, '\\x00', t.at, t.at
  FROM s_clients c
 CROSS JOIN generate_series(1, {BACKGROUND_DAYS}) d
 CROSS JOIN LATERAL (SELECT (current_date - d + 1) + time '07:00' + make_interval(secs => c.i % 36000) AS at) t
 WHERE d % 7 IN (1, 3, 5) AND t.at < now()
 ORDER BY c.id, t.at;
ANALYZE symptom_reports;
INSERT INTO flags (id, organization_id, client_id, level, severity, status, report_id, last_report_at,
                   opened_at, updated_at)
SELECT pg_temp.uuid7(now() - interval '1 day'), c.org_id, c.id, 'amber', 1, 'open', r.id,
       now() - interval '1 day', now() - interval '1 day', now() - interval '1 day'
  FROM s_clients c
  JOIN LATERAL (SELECT r.id FROM symptom_reports r WHERE r.client_id = c.id ORDER BY r.id DESC LIMIT 1) r ON true
 WHERE c.i % 20 = 0;

-- The measured caseloads (imported through the API): a year of history, the last
-- {STEP_DAYS} days of it at the plan's current step.
CREATE TEMP TABLE s_measured AS
    SELECT c.id, c.organization_id AS org_id, c.coach_id, c.name, c.email, p.id AS plan_id,
           row_number() OVER (ORDER BY c.id) AS i
      FROM clients c JOIN plans p ON p.client_id = c.id AND p.status IN ('active', 'paused')
     WHERE c.organization_id = '{org0}' AND c.external_id LIKE 'M-%';
UPDATE plans SET stage = 'jogging', level = 4, started_on = current_date - {YEAR_DAYS},
       step_started_at = now() - interval '{STEP_DAYS} days', created_at = now() - interval '{YEAR_DAYS} days'
 WHERE id IN (SELECT plan_id FROM s_measured);
INSERT INTO plan_transitions (id, organization_id, plan_id, client_id, action, from_stage, from_level, from_status,
                              to_stage, to_level, to_status, actor_type, actor_id, reason, rule_ids,
                              override_gate, created_at)
SELECT pg_temp.uuid7(x.at), m.org_id, m.plan_id, m.id, 'set', x.from_stage, NULL, 'active', x.to_stage, x.to_level,
       'active', 'user', m.coach_id, 'Seeded.', '{{}}', true, x.at
  FROM s_measured m
 CROSS JOIN (VALUES (now() - interval '{YEAR_DAYS - 60} days', 'crawling', 'lunges', NULL::int),
                    (now() - interval '{STEP_DAYS} days', 'lunges', 'jogging', 4)) AS x (at, from_stage, to_stage, to_level);
INSERT INTO session_logs (id, organization_id, client_id, plan_id, performed_on, stage, level, completed,
                          duration_minutes, rpe, request_digest, created_at, updated_at)
SELECT pg_temp.uuid7(t.at), m.org_id, m.id, m.plan_id, current_date - d,
       CASE WHEN d <= {STEP_DAYS} THEN 'jogging' ELSE 'lunges' END, CASE WHEN d <= {STEP_DAYS} THEN 4 END,
       true, 25, 4, '\\x00', t.at, t.at
  FROM s_measured m CROSS JOIN generate_series(1, {YEAR_DAYS}) d
 CROSS JOIN LATERAL (SELECT (current_date - d) + time '07:00' + make_interval(secs => (m.i % 36000)::int) AS at) t
 WHERE d % 7 IN (1, 3, 5)
 ORDER BY m.id, t.at;
INSERT INTO symptom_reports (id, organization_id, client_id, plan_id, stage, level, timing, reported_on, symptoms,
                             triage_level, findings, advisories, max_pain, pelvic_symptom, request_digest,
                             created_at, updated_at)
SELECT pg_temp.uuid7(t.at), m.org_id, m.id, m.plan_id, CASE WHEN d <= {STEP_DAYS} THEN 'jogging' ELSE 'lunges' END,
       CASE WHEN d <= {STEP_DAYS} THEN 4 END, 'next_day', current_date - d + 1, '{{"fatigue": 3, "sleep_hours": 7}}',
       'green', '[]', '[]', (d % 3)::int2, false, '\\x00', t.at, t.at
  FROM s_measured m CROSS JOIN generate_series(1, {YEAR_DAYS}) d
 CROSS JOIN LATERAL (SELECT (current_date - d + 1) + time '07:00' + make_interval(secs => (m.i % 36000)::int) AS at) t
 WHERE d % 7 IN (1, 3, 5) AND t.at < now()
 ORDER BY m.id, t.at;
INSERT INTO users (id, organization_id, role, name, email, client_id)
SELECT pg_temp.uuid7(now()), org_id, 'client', name, email, id FROM s_measured;
"""


def seed(base, secret, db, out, size, orgs):
    t0 = time.time()
    api = Api(base)
    admin = api.login(ADMIN_EMAIL)
    measured = MEASURED_COACHES * CASELOAD
    background = max(0, size - measured)
    # The measured coaches, through the API: invited, then signed in with their own password.
    coach_emails = []
    for n in range(MEASURED_COACHES):
        email = f"coach{n}@bench.example"
        c = api.call("POST", "/v1/coaches", admin, {"name": f"Coach {n}", "email": email})
        api.call("POST", "/v1/auth/invitations/accept", None,
                 {"token": c["invitation"]["token"], "password": PASSWORD})
        coach_emails.append(email)
    # Their caseloads, through the CSV import, each client with a plan.
    t = today()
    rows = ["external_id,name,email,delivery_date,delivery_type,cleared_for_exercise,coach_email,program"]
    for i in range(measured):
        rows.append(f"M-{i:05d},Measured {i},measured{i}@bench.example,"
                    f"{(t - datetime.timedelta(days=YEAR_DAYS + 30 + i % 60)).isoformat()},"
                    f"{['vaginal', 'assisted_vaginal', 'caesarean'][i % 3]},yes,"
                    f"{coach_emails[i % MEASURED_COACHES]},return_to_running_postpartum")
    answer = api.call("POST", "/v1/imports/clients", admin, ("\n".join(rows) + "\n").encode(), "text/csv")
    assert answer["created"] == measured and answer["plans_started"] == measured, answer
    org0 = psql(db, f"SELECT organization_id FROM users WHERE email = '{ADMIN_EMAIL}'").strip()
    t1 = time.time()
    # Each statement with its time (psql's \timing), in DIR/seed-SIZE-ORGS.log.
    open(f"{out}/seed-{size}-{orgs}.log", "w").write(psql(db, seed_sql(org0, size, orgs, background), "-e"))
    t2 = time.time()
    psql(db, "VACUUM (ANALYZE)")
    psql(db, "CHECKPOINT")
    t3 = time.time()

    # Each measured coach's feed read to its end once, as her app's first sync would: every
    # page's cursor is a place a first sync passes through.
    coaches = []
    for email in coach_emails:
        token = api.login(email)
        cursor, cursors, changes = None, [None], 0
        while True:
            page = api.call("GET", "/v1/sync?limit=500" + (f"&cursor={cursor}" if cursor else ""), token)
            changes += len(page["changes"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
            cursors.append(cursor)
        coaches.append({"email": email, "first_sync": cursors, "end": cursor, "changes": changes})
    # A day later: every client of the practice who runs on this weekday (three in seven) and
    # every measured client logged today's session and reported on it, so that a coach's next
    # sync passes a whole practice's day of changes, hers among them.
    psql(db, UUID7 + """
    CREATE TEMP TABLE s_today AS
        SELECT c.organization_id AS org_id, c.id, p.id AS plan_id, p.stage, p.level
          FROM clients c JOIN plans p ON p.client_id = c.id AND p.status = 'active'
         WHERE c.external_id LIKE 'M-%' OR abs(hashtext(c.id::text)) % 7 IN (1, 3, 5);
    INSERT INTO session_logs (id, organization_id, client_id, plan_id, performed_on, stage, level, completed,
                              duration_minutes, rpe, request_digest)
    SELECT pg_temp.uuid7(now()), org_id, id, plan_id, current_date, stage, level, true, 25, 4, '\\x00'
      FROM s_today ORDER BY id;
    INSERT INTO symptom_reports (id, organization_id, client_id, plan_id, stage, level, timing, reported_on,
                                 symptoms, triage_level, findings, advisories, max_pain, pelvic_symptom,
                                 request_digest)
    SELECT pg_temp.uuid7(now()), org_id, id, plan_id, stage, level, 'immediately_after', current_date,
           '{}', 'green', '[]', '[]', 0, false, '\\x00'
      FROM s_today ORDER BY id;
    ANALYZE session_logs, symptom_reports, sync_changes;
    """)
    t4 = time.time()

    # The callers wrk plays, with tokens minted last (they live 15 minutes).
    admin = api.login(ADMIN_EMAIL)
    for c in coaches:
        c["token"] = api.login(c["email"])
        c["id"] = psql(db, f"SELECT id FROM users WHERE email = '{c['email']}'").strip()
    q = psql(db, f"""SELECT c.id, c.coach_id, u.id FROM clients c JOIN users u ON u.client_id = c.id
                      WHERE c.organization_id = '{org0}' AND c.external_id LIKE 'M-%' ORDER BY c.id""")
    measured_rows = [line.split("|") for line in q.split()]
    token_of = {c["id"]: c["token"] for c in coaches}
    since = (today() - datetime.timedelta(days=YEAR_DAYS)).isoformat()
    with open(f"{out}/list_coach.txt", "w") as f:
        for c in coaches:
            mine = [cid for cid, coach, _ in measured_rows if coach == c["id"]]
            f.write(f"{c['token']} /v1/clients?limit=50\n")
            if len(mine) > 50:
                f.write(f"{c['token']} /v1/clients?limit=50&cursor={list_cursor(mine[49])}\n")
    # The whole practice's list, from its first page and from 200 places spread over it.
    spread = psql(db, f"""SELECT id FROM clients WHERE organization_id = '{org0}'
                           ORDER BY random() LIMIT 200""").split()
    with open(f"{out}/list_admin.txt", "w") as f:
        f.write(f"{admin} /v1/clients?limit=50\n")
        for cid in spread:
            f.write(f"{admin} /v1/clients?limit=50&cursor={list_cursor(cid)}\n")
    with open(f"{out}/sync_first.txt", "w") as f:
        for c in coaches:
            for cur in c["first_sync"]:
                f.write(f"{c['token']} /v1/sync?limit=500" + (f"&cursor={cur}" if cur else "") + "\n")
    with open(f"{out}/sync_incremental.txt", "w") as f:
        for c in coaches:
            f.write(f"{c['token']} /v1/sync?limit=500&cursor={c['end']}\n")
    with open(f"{out}/timeline.txt", "w") as f:
        for cid, coach, _ in measured_rows:
            f.write(f"{token_of[coach]} /v1/clients/{cid}/timeline?since={since}\n")
    with open(f"{out}/report.txt", "w") as f:
        for cid, _, uid in measured_rows:
            f.write(f"{jwt(secret, uid, org0, 'client', cid)} /v1/clients/me/symptom-reports\n")
    counts = psql(db, """SELECT (SELECT count(*) FROM organizations), (SELECT count(*) FROM clients),
                                (SELECT count(*) FROM session_logs), (SELECT count(*) FROM symptom_reports),
                                (SELECT count(*) FROM sync_changes),
                                pg_size_pretty(pg_database_size(current_database()))""").strip().split("|")
    meta = {"size": size, "orgs": orgs, "organization_id": org0, "since": since,
            "coaches": [{k: c[k] for k in ("id", "email", "end", "changes")} for c in coaches],
            "clients": [cid for cid, _, _ in measured_rows],
            "first_sync": [c["first_sync"] for c in coaches]}
    json.dump(meta, open(f"{out}/meta.json", "w"), indent=1)
    print(f"   {counts[0]} organizations, {counts[1]} clients, {counts[2]} sessions, {counts[3]} reports, "
          f"{counts[4]} feed rows, {counts[5]}; a measured coach's feed: {coaches[0]['changes']} changes")
    print(f"   seeded in {time.time() - t0:.0f} s (API {t1 - t0:.1f} s, SQL {t2 - t1:.1f} s, "
          f"vacuum {t3 - t2:.1f} s, feed walk {t4 - t3:.1f} s)")


# ---------------------------------------------------------------- results

def results_path(out):
    return f"{out}/results.jsonl"


def record(out, row, line):
    with open(results_path(out), "a") as f:
        f.write(json.dumps(row) + "\n")
    print(line, flush=True)


def wrk_result(out, size, orgs, scenario, connections, path):
    text = open(path).read()

    def ms(label):
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = int(bad.group(1)) if bad else 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    # The cost of a request: the time the service spends per successful answer at this load.
    ok = rps * (total - min(errors, total)) / total if total else 0
    row = {"size": int(size), "orgs": int(orgs), "scenario": scenario, "conns": int(connections),
           "rate": rps, "p50_ms": ms("50"),
           "p99_ms": ms("99"), "non_2xx": errors, "count": total, "unit": "request",
           "cost_ms": 1000 / ok if ok else float("nan")}
    record(out, row, f"   {scenario:18}{connections:>4} conns{rps:9.0f} req/s  p50 {row['p50_ms']:7.1f} ms  "
                     f"p99 {row['p99_ms']:7.1f} ms  non-2xx {errors}")


def import_result(out, size, orgs, rows, seconds, answer):
    try:
        a = json.load(open(answer))
    except ValueError:
        a = {"answer": open(answer).read()[:300]}
    rows, seconds = int(rows), float(seconds)
    bad = 0 if a.get("created") == rows and a.get("failed") == 0 else rows - a.get("created", 0)
    row = {"size": int(size), "orgs": int(orgs), "scenario": "import", "conns": 1, "rate": rows / seconds,
           "p50_ms": seconds * 1000, "p99_ms": float("nan"), "non_2xx": bad, "count": rows,
           "unit": "1,000 rows", "cost_ms": seconds * 1000 / (rows / 1000)}
    record(out, row, f"   import of {rows:,} rows in {seconds:.1f} s: {rows / seconds:,.0f} rows/s"
                     + (f", {bad} not created: {json.dumps(a)[:300]}" if bad else ""))


# ---------------------------------------------------------------- EXPLAIN

def rust_literal(path, *anchors):
    """The first string literal after the anchors (found one after the other) in a Rust file."""
    src = open(path).read()
    at = 0
    for a in anchors:
        at = src.index(a, at) + len(a)
    at = src.index('"', at) + 1
    out, i = [], at
    while True:
        ch = src[i]
        if ch == "\\":
            nxt = src[i + 1]
            if nxt == "\n":  # a line continuation: the next line's leading blanks go too
                i += 2
                while src[i] in " \t":
                    i += 1
                continue
            out.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(nxt, nxt))
            i += 2
            continue
        if ch == '"':
            return "".join(out)
        out.append(ch)
        i += 1


def queries(meta, db, scenario):
    """(title, SQL with $n, parameter types, values as SQL literals, executions before EXPLAIN).
    The statements are read from the code in src/db/ where the code writes SQL; the timeline's
    lists are written with Diesel's query builder there, and are spelled out here as it sends them.
    A statement the service prepares once per connection (`.cached()`) is executed five times
    first, so that EXPLAIN shows the plan PostgreSQL settles on for it (generic or custom)."""
    org = meta["organization_id"]
    coach = meta["coaches"][0] if meta["coaches"] else None
    client = meta["clients"][0] if meta["clients"] else None
    q = lambda v: "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"
    out = []
    if scenario in ("list_coach", "list_admin"):
        sql = rust_literal("src/db/clients.rs", "pub async fn list_summaries(", "sql_query(")
        types = "uuid, uuid, uuid, text, text, text, timestamptz, uuid, date, bigint, text"
        only_coach = coach["id"] if scenario == "list_coach" else None
        for title, after in [("first page", None), ("a page further on", meta["clients"][len(meta["clients"]) // 2])]:
            args = [q(org), q(only_coach), "NULL", "NULL", "NULL", "NULL", "NULL", q(after),
                    q(today().isoformat()), "50", "NULL"]
            out.append((f"clients::list_summaries, {title}", sql, types, args, 0))
    elif scenario in ("sync_first", "sync_incremental"):
        columns = rust_literal("src/db/sync.rs", "const COLUMNS: &str =")
        after = rust_literal("src/db/sync.rs", "const AFTER: &str =")
        where = rust_literal("src/db/sync.rs", "fn filter(reach: Reach)", "Reach::Coach {", "=> (")
        sql = f"{columns} {where} {after}"
        types = "uuid, uuid, bigint, bigint, bigint"
        if scenario == "sync_first":
            pos, title = (0, 0), "from the start"
        else:
            pos, title = sync_position(coach["end"]), "from yesterday's end"
        args = [q(org), q(coach["id"]), str(pos[0]), str(pos[1]), "501"]
        out.append((f"sync::page (a coach's reach), {title}", sql, types, args, 5))
        held = rust_literal("src/db/sync.rs", "pub async fn held_back(", "sql_query(format!(")
        held = held.replace("{filter}", where)
        out.append((f"sync::held_back, {title}", held, "uuid, uuid, bigint, bigint", args[:4], 5))
    elif scenario == "timeline":
        since, until = meta["since"], today().isoformat()
        for table, date, fn in [("session_logs", "performed_on", "workouts::list_sessions"),
                                ("symptom_reports", "reported_on", "reports::list")]:
            sql = (f"SELECT * FROM {table} WHERE {table}.client_id = $1 AND {table}.{date} >= $2 "
                   f"AND {table}.{date} <= $3 ORDER BY {table}.id ASC LIMIT $4")
            out.append((f"{fn}: her {table} of a year", sql,
                        "uuid, date, date, bigint", [q(client), q(since), q(until), "10000"], 0))
    elif scenario == "report":
        sql = rust_literal("src/db/progress.rs", "const CONTEXT: &str =")
        since = (today() - datetime.timedelta(days=14)).isoformat()
        out.append(("progress::context (what the engine reads for a report)", sql, "uuid, uuid, date",
                    [q(client), q(org), q(since)], 5))
    elif scenario == "import":
        ids = [f"I-{i:07d}" for i in range(5000)]
        emails = [f"import{i}@import.example" for i in range(5000)]
        arr = lambda xs: "ARRAY[" + ",".join(q(x) for x in xs) + "]::text[]"
        sql = rust_literal("src/db/imports.rs", "pub async fn existing_by_external_id(", "sql_query(")
        out.append(("imports::existing_by_external_id, a chunk of 5,000", sql, "uuid, text[]", [q(org), arr(ids)], 0))
        sql = rust_literal("src/db/imports.rs", "pub async fn emails_in_use(", "sql_query(")
        out.append(("imports::emails_in_use, a chunk of 5,000", sql, "uuid, text[]", [q(org), arr(emails)], 0))
    return out


def explain(db, out, size, orgs, scenarios):
    meta = json.load(open(f"{out}/meta.json"))
    os.makedirs(f"{out}/explain", exist_ok=True)
    for scenario in scenarios:
        text = [f"== {scenario}: {size} clients, {orgs} organization(s)"]
        try:
            statements = queries(meta, db, scenario)
        except (ValueError, IndexError, KeyError) as e:
            text.append(f"(the statement could not be read from src/db/: {e!r})")
            statements = []
        for n, (title, sql, types, args, warm) in enumerate(statements):
            script = [f"PREPARE scale_q{n} ({types}) AS {sql};", "\\o /dev/null"]
            script += [f"EXECUTE scale_q{n} ({', '.join(args)});"] * warm
            script += ["\\o", f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE scale_q{n} ({', '.join(args)});"]
            try:
                plan = psql(db, "\n".join(script))
            except RuntimeError as e:
                plan = f"(failed: {e})"
            text.append(f"-- {title}\n{plan}")
        with open(f"{out}/explain/{size}-{orgs}-{scenario}.txt", "w") as f:
            f.write("\n".join(text) + "\n")


# ---------------------------------------------------------------- the table and the plot

def fmt_size(n):
    return "empty" if n == 0 else f"{n:,}"


def svg_plot(rows, path):
    """Two panels: p50 ms per request against clients (log-log), and import rows/s against the
    clients the practice held before it (log x; the empty practice at the left edge)."""
    W, H, PW, PH, M = 980, 420, 560, 320, 60
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
    # Runs without a single 2xx answer have no cost to draw.
    reqs = [r for r in rows if r["unit"] == "request" and r["size"] > 0 and r["cost_ms"] == r["cost_ms"]
            and r["p50_ms"] > 0]
    imps = [r for r in rows if r["scenario"] == "import"]
    sizes = sorted({r["size"] for r in reqs} | {r["size"] for r in imps if r["size"] > 0}) or [1000]
    lx0, lx1 = math.log10(min(sizes)) - 0.15, math.log10(max(sizes)) + 0.15
    if lx1 - lx0 < 0.5:
        lx0, lx1 = lx0 - 0.3, lx1 + 0.3
    vals = [r["p50_ms"] for r in reqs] or [1, 10]
    ly0, ly1 = math.floor(math.log10(max(min(vals), 0.01))), math.ceil(math.log10(max(vals)) + 0.01)
    if ly1 <= ly0:
        ly1 = ly0 + 1
    e = []
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    e.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="HEIGHT" '
             f'font-family="sans-serif" font-size="12">')
    e.append(f'<rect width="100%" height="100%" fill="white"/>')
    # Left panel.
    x = lambda s: M + (math.log10(s) - lx0) / (lx1 - lx0) * PW
    y = lambda v: 30 + PH - (math.log10(max(v, 10 ** ly0)) - ly0) / (ly1 - ly0) * PH
    e.append(f'<text x="{M}" y="18" font-weight="bold">p50 ms per request against the practice\'s clients '
             f'(log–log; flat is the goal)</text>')
    e.append(f'<rect x="{M}" y="30" width="{PW}" height="{PH}" fill="none" stroke="#888"/>')
    for d in range(ly0, ly1 + 1):
        for m in (1, 2, 5):
            v = m * 10 ** d
            if 10 ** ly0 <= v <= 10 ** ly1:
                yy = y(v)
                e.append(f'<line x1="{M}" x2="{M + PW}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#eee"/>')
                e.append(f'<text x="{M - 6}" y="{yy + 4:.1f}" text-anchor="end">{v:g}</text>')
    for s in sizes:
        e.append(f'<line x1="{x(s):.1f}" x2="{x(s):.1f}" y1="30" y2="{30 + PH}" stroke="#eee"/>')
        e.append(f'<text x="{x(s):.1f}" y="{30 + PH + 16}" text-anchor="middle">{fmt_size(s)}</text>')
    e.append(f'<text x="{M + PW / 2}" y="{30 + PH + 34}" text-anchor="middle">clients in the practice</text>')
    legend = []
    for n, sc in enumerate(SCENARIOS):
        color = colors[n % len(colors)]
        one = sorted((r for r in reqs if r["scenario"] == sc and r["orgs"] == 1), key=lambda r: r["size"])
        many = [r for r in reqs if r["scenario"] == sc and r["orgs"] > 1]
        if not one and not many:
            continue
        if len(one) > 1:
            pts = " ".join(f"{x(r['size']):.1f},{y(r['p50_ms']):.1f}" for r in one)
            e.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>')
        for r in one:
            e.append(f'<circle cx="{x(r["size"]):.1f}" cy="{y(r["p50_ms"]):.1f}" r="3.5" fill="{color}"/>')
        for r in many:
            e.append(f'<circle cx="{x(r["size"]):.1f}" cy="{y(r["p50_ms"]):.1f}" r="5" fill="white" '
                     f'stroke="{color}" stroke-width="2"/>')
        conns = sorted({r.get("conns", 0) for r in one + many})
        legend.append((color, LABELS[sc] + f" ({', '.join(map(str, conns))} conns)"))
    failed = [sc for sc in SCENARIOS if any(r["scenario"] == sc for r in rows)
              and not any(r["scenario"] == sc for r in reqs)]
    for sc in failed:
        conns = sorted({r.get("conns", 0) for r in rows if r["scenario"] == sc})
        legend.append(("#bbb", LABELS[sc] + f" ({', '.join(map(str, conns))} conns): no 2xx answer, not drawn"))
    orgs_many = sorted({r["orgs"] for r in reqs if r["orgs"] > 1})
    ly = H + 20
    for n, (color, label) in enumerate(legend):
        lx, lyy = M, ly + n * 18
        e.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{lyy - 4}" y2="{lyy - 4}" stroke="{color}" stroke-width="2"/>')
        e.append(f'<text x="{lx + 28}" y="{lyy}">{esc(label)}</text>')
    note = "filled: one organization"
    if orgs_many:
        note += f"; hollow: the same clients spread over {', '.join(f'{o:,}' for o in orgs_many)} organizations"
    e.append(f'<text x="{M}" y="{ly + len(legend) * 18 + 8}" fill="#555">{note}</text>')
    # Right panel: the import.
    RX, RW = M + PW + 90, W - (M + PW + 90) - 20
    e.append(f'<text x="{RX}" y="18" font-weight="bold">import of {imps[0]["count"]:,} rows: rows/s</text>'
             if imps else f'<text x="{RX}" y="18" font-weight="bold">import: not measured</text>')
    e.append(f'<rect x="{RX}" y="30" width="{RW}" height="{PH}" fill="none" stroke="#888"/>')
    if imps:
        top = max(r["rate"] for r in imps) * 1.15
        step = 10 ** math.floor(math.log10(top / 2))
        ry = lambda v: 30 + PH - v / top * PH
        v = 0
        while v <= top:
            e.append(f'<line x1="{RX}" x2="{RX + RW}" y1="{ry(v):.1f}" y2="{ry(v):.1f}" stroke="#eee"/>')
            e.append(f'<text x="{RX - 6}" y="{ry(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
            v += step * (2 if top / step > 8 else 1)
        isizes = sorted({r["size"] for r in imps})
        pos = {s: RX + 20 + k * (RW - 40) / max(len(isizes) - 1, 1) for k, s in enumerate(isizes)}
        for s in isizes:
            e.append(f'<text x="{pos[s]:.1f}" y="{30 + PH + 16}" text-anchor="middle">{fmt_size(s)}</text>')
        e.append(f'<text x="{RX + RW / 2}" y="{30 + PH + 34}" text-anchor="middle">clients before the import</text>')
        pts = sorted((pos[r["size"]], ry(r["rate"])) for r in imps if r["orgs"] == 1)
        if len(pts) > 1:
            e.append(f'<polyline points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in pts)}" fill="none" '
                     f'stroke="#333" stroke-width="2"/>')
        for a, b in pts:
            e.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3.5" fill="#333"/>')
        e.append(f'<text x="{RX}" y="{H + 20}" fill="#555">(equal heights: each row costs the same</text>')
        e.append(f'<text x="{RX}" y="{H + 38}" fill="#555">whatever the practice already holds)</text>')
    e.append("</svg>")
    e[0] = e[0].replace("HEIGHT", str(ly + len(legend) * 18 + 30))
    open(path, "w").write("\n".join(e) + "\n")


def report(out, save_to=None):
    rows = [json.loads(l) for l in open(results_path(out)) if l.strip()]
    order = {s: n for n, s in enumerate(SCENARIOS + ["import"])}
    rows.sort(key=lambda r: (order.get(r["scenario"], 99), r["orgs"], r["size"]))
    header = ["clients", "orgs", "scenario", "conns", "req/s", "p50 ms", "p99 ms", "non-2xx", "requests",
              "ms each"]
    lines = []
    for r in rows:
        imp = r["scenario"] == "import"
        lines.append([fmt_size(r["size"]), f"{r['orgs']:,}", LABELS.get(r["scenario"], r["scenario"]),
                      str(r.get("conns", "")), f"{r['rate']:,.0f}", f"{r['p50_ms']:.1f}" if r["p50_ms"] == r["p50_ms"] else "",
                      "" if imp or r["p99_ms"] != r["p99_ms"] else f"{r['p99_ms']:.1f}",
                      str(r["non_2xx"]), f"{r['count']:,}" + (" rows" if imp else ""),
                      (f"{r['cost_ms']:.2f}" + (" /1k rows" if imp else "")) if r["cost_ms"] == r["cost_ms"]
                      else "no 2xx"])
    widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(header)]
    right = {0, 1, 3, 4, 5, 6, 7, 8, 9}
    cell = lambda v, i: v.rjust(widths[i]) if i in right else v.ljust(widths[i])
    print()
    print("  ".join(cell(h, i) for i, h in enumerate(header)))
    for l in lines:
        print("  ".join(cell(v, i) for i, v in enumerate(l)))
    print("(ms each: 1000 / req/s, the service's time per request at this load; for the import, "
          "its p50 column is the whole import's ms and req/s is rows/s)")
    with open(f"{out}/results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["clients", "organizations", "scenario", "connections", "req_per_s", "p50_ms", "p99_ms",
                    "non_2xx", "count", "unit", "ms_per_unit"])
        for r in rows:
            w.writerow([r["size"], r["orgs"], r["scenario"], r.get("conns", ""), f"{r['rate']:.1f}", f"{r['p50_ms']:.2f}",
                        "" if r["p99_ms"] != r["p99_ms"] else f"{r['p99_ms']:.2f}", r["non_2xx"], r["count"],
                        r["unit"], f"{r['cost_ms']:.3f}"])

    # Growth: the cost at the largest practice against the smallest one-organization practice.
    growth, flagged = [], []
    for sc in SCENARIOS + ["import"]:
        mine = [r for r in rows if r["scenario"] == sc]
        one = sorted((r for r in mine if r["orgs"] == 1), key=lambda r: r["size"])
        if not one:
            continue
        base = one[0]
        for r in sorted(mine, key=lambda r: (r["size"], r["orgs"])):
            if r is base or r["size"] < max(x["size"] for x in mine):
                continue
            ratio = r["cost_ms"] / base["cost_ms"]  # NaN when either run had no 2xx answer
            growth.append((sc, base, r, ratio))
            if ratio > 1.5 and sc not in flagged:
                flagged.append(sc)
    if growth:
        print()
        print("growth: cost at the largest practice / cost at the smallest (flat ≈ 1; above 1.5 is flagged)")
        for sc, base, r, ratio in growth:
            verdict = "   <- not flat" if ratio > 1.5 else "   (no 2xx answers to compare)" if ratio != ratio else ""
            print(f"  {LABELS[sc]:44} {r.get('conns', ''):>3} conns {fmt_size(r['size']):>8} clients, {r['orgs']:,} org(s) / "
                  f"{fmt_size(base['size'])}: {ratio:5.2f}{verdict}")
    with open(f"{out}/table.md", "w") as f:
        f.write("| " + " | ".join(header) + " |\n|" + "|".join("---:" if i in right else "---"
                                                             for i in range(len(header))) + "|\n")
        for l in lines:
            f.write("| " + " | ".join(l) + " |\n")
        if growth:
            f.write("\n| scenario | conns | clients | orgs | against | cost ratio |\n|---|---:|---:|---:|---:|---:|\n")
            for sc, base, r, ratio in growth:
                f.write(f"| {LABELS[sc]} | {r.get('conns', '')} | {fmt_size(r['size'])} | {r['orgs']:,} | {fmt_size(base['size'])} "
                        f"| {ratio:.2f}{' (not flat)' if ratio > 1.5 else ''} |\n")
    svg_plot(rows, f"{out}/scale.svg")
    print(f"\n{out}/results.csv, {out}/table.md, {out}/scale.svg")
    if save_to:
        import shutil
        shutil.copy(f"{out}/scale.svg", save_to)
        print(f"copied to {save_to}")

    # EXPLAIN of what did not stay flat, at each size measured.
    for sc in flagged:
        parts = sorted(os.listdir(f"{out}/explain")) if os.path.isdir(f"{out}/explain") else []
        mine = [p for p in parts if p.endswith(f"-{sc}.txt")]
        mine.sort(key=lambda p: tuple(int(x) for x in p.split("-")[:2]))
        text = "".join(open(f"{out}/explain/{p}").read() + "\n" for p in mine)
        path = f"{out}/explain-{sc}.txt"
        open(path, "w").write(text)
        print(f"\n===== {LABELS[sc]}: not flat; EXPLAIN (ANALYZE, BUFFERS) at each size ({path})\n")
        print(text)
    if not flagged and growth:
        print("\nevery scenario stayed within 1.5× of its cost at the smallest practice "
              f"(EXPLAIN of each, at each size: {out}/explain/)")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "import-csv":
        import_csv(int(args[0]), args[1])
    elif cmd == "seed":
        seed(args[0], args[1], args[2], args[3], int(args[4]), int(args[5]))
    elif cmd == "wrk-result":
        wrk_result(*args)
    elif cmd == "import-result":
        import_result(*args)
    elif cmd == "explain":
        explain(args[0], args[1], args[2], args[3], args[4:])
    elif cmd == "report":
        report(args[0], args[1] if len(args) > 1 else None)
    else:
        sys.exit(f"unknown command {cmd}")


main()
