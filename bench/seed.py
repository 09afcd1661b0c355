#!/usr/bin/env python3
"""Seeds a realistic practice for bench/run through the API: 10 coaches, 10,000 clients
imported as CSV with plans, plans spread over every stage and level with coach transitions.
Thirty days of sessions and reports are written with SQL (posting 300,000 of them one by one
would take longer than the benchmark). Writes the caller files wrk reads."""
import base64, csv, datetime, hashlib, hmac, io, json, os, random, subprocess, sys, time, uuid
import urllib.request

BASE, ADMIN_TOKEN, SECRET, DB, OUT = sys.argv[1:6]
CLIENTS = int(os.environ.get("CLIENTS", "10000"))
random.seed(11)


def call(method, path, token, body=None, content_type="application/json"):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": content_type})
    with urllib.request.urlopen(req) as r:
        return json.load(r) if r.status != 204 else None


def psql(sql):
    subprocess.run(["psql", DB, "-qAtc", sql], check=True, capture_output=True)


coaches = []
for i in range(10):
    c = call("POST", "/v1/coaches", ADMIN_TOKEN, {"name": f"Coach {i}", "email": f"coach{i}@bench.example"})
    pair = call("POST", "/v1/auth/invitations/accept", ADMIN_TOKEN,
                {"token": c["invitation"]["token"], "password": "bench passphrase 2026"})
    coaches.append((c["coach"]["id"], c["coach"]["email"], pair["access_token"]))

today = datetime.date.today()
buf = io.StringIO()
w = csv.writer(buf)
w.writerow(["external_id", "name", "email", "delivery_date", "delivery_type", "cleared_for_exercise", "coach_email", "program"])
for i in range(CLIENTS):
    w.writerow([f"S-{i:06d}", f"Client {i}", f"client{i}@seed.example",
                (today - datetime.timedelta(days=random.randint(30, 300))).isoformat(),
                random.choice(["vaginal", "assisted_vaginal", "caesarean"]), "yes",
                coaches[i % 10][1], "return_to_running_postpartum"])
t = time.time()
report = call("POST", "/v1/imports/clients", ADMIN_TOKEN, buf.getvalue().encode(), "text/csv")
print(f"   imported {report['created']} clients with {report['plans_started']} plans in {time.time() - t:.1f} s")

# Every stage and level: a coach's `set` transition for 60 % of the clients.
page, cursor, clients = 0, None, []
while True:
    q = "/v1/clients?limit=200" + (f"&cursor={cursor}" if cursor else "")
    p = call("GET", q, ADMIN_TOKEN)
    clients += [(c["id"], c["coach_id"]) for c in p["items"]]
    cursor = p["next_cursor"]
    if not cursor:
        break
token_of = {cid: tok for cid, _, tok in coaches}
steps = [("walking_hills", None), ("lunges", None)] + [("jogging", l) for l in range(1, 19)]
t = time.time()
for n, (cid, coach) in enumerate(clients):
    if n % 10 < 4:
        continue
    stage, level = random.choice(steps)
    call("POST", f"/v1/clients/{cid}/plan/transitions", token_of[coach],
         {"action": "set", "stage": stage, "level": level, "reason": "Seeded.", "override_gate": True})
print(f"   spread plans over every stage in {time.time() - t:.1f} s")

# 30 days of history with SQL: three sessions a week and a next-day report after each.
psql(f"""
INSERT INTO session_logs (id, organization_id, client_id, plan_id, performed_on, stage, level, completed,
                          duration_minutes, rpe, request_digest, created_at, updated_at)
SELECT gen_random_uuid(), p.organization_id, p.client_id, p.id, current_date - d, p.stage, p.level, true,
       25, 4, '\\x00', now() - make_interval(days => d), now() - make_interval(days => d)
  FROM plans p CROSS JOIN generate_series(1, 30) d WHERE d % 7 IN (1, 3, 5);
INSERT INTO symptom_reports (id, organization_id, client_id, plan_id, stage, level, timing, reported_on, symptoms,
                             triage_level, findings, advisories, max_pain, pelvic_symptom, request_digest,
                             created_at, updated_at)
SELECT gen_random_uuid(), s.organization_id, s.client_id, s.plan_id, s.stage, s.level, 'next_day',
       s.performed_on + 1, '{{}}', 'green', '[]', '[]', 0, false, '\\x00', s.created_at, s.created_at
  FROM session_logs s;
INSERT INTO users (id, organization_id, role, name, email, client_id)
SELECT gen_random_uuid(), c.organization_id, 'client', c.name, c.email, c.id FROM clients c;
ANALYZE;
""")

# Tokens, minted as the server does (HS256, kid = first 8 bytes of SHA-256 of the secret).
def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

kid = hashlib.sha256(SECRET.encode()).hexdigest()[:16]
def jwt(sub, org, role, cid=None):
    now = int(time.time())
    claims = {"sub": sub, "org": org, "role": role, "iss": "runback", "aud": "runback-api",
              "iat": now, "nbf": now, "exp": now + 900, "jti": str(uuid.uuid4())}
    if cid:
        claims["cid"] = cid
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    sig = b64(hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"

rows = subprocess.run(["psql", DB, "-qAtF", " ", "-c", "SELECT u.id, u.organization_id, u.client_id FROM users u WHERE role = 'client'"],
                      check=True, capture_output=True, text=True).stdout.split("\n")
with open(f"{OUT}/today.txt", "w") as today_f, open(f"{OUT}/report.txt", "w") as report_f:
    for row in filter(None, rows):
        uid, org, cid = row.split()
        tok = jwt(uid, org, "client", cid)
        today_f.write(f"{tok} /v1/clients/me/plan/today\n")
        report_f.write(f"{tok} /v1/clients/me/symptom-reports\n")
with open(f"{OUT}/plan.txt", "w") as plan_f, open(f"{OUT}/list.txt", "w") as list_f:
    for cid, coach in clients:
        plan_f.write(f"{token_of[coach]} /v1/clients/{cid}/plan\n")
    for _, _, tok in coaches:
        list_f.write(f"{tok} /v1/clients?limit=50\n")
with open(f"{OUT}/healthz.txt", "w") as f:
    f.write("none /healthz\n")
