// A coach's and a mother's day, typed from runback's OpenAPI document with openapi-typescript:
// sign-in, the caseload's pages, a plan, today's session, a report and its retry, the timeline,
// the engine's trace, the change feed's pages, and a 422 and a 429 read as problems.
// The unions narrow on their discriminators: a timeline entry on `kind`, a change on `entity`.
//
//   RUNBACK_URL=... RUNBACK_COACH_EMAIL=... RUNBACK_EMAIL=... RUNBACK_PASSWORD=... npm run tour
//
// The 429 comes from asking for one client's export until the service throttles it: run it last.
import createClient from "openapi-fetch";
import { randomUUID } from "node:crypto";

import type { components, paths } from "./runback.js";

type Problem = components["schemas"]["Problem"];
type TimelineEntry = components["schemas"]["TimelineEntry"];
type SyncChange = components["schemas"]["SyncChange"];
type SymptomReportInput = components["schemas"]["SymptomReportInput"];

const baseUrl = process.env.RUNBACK_URL ?? "http://127.0.0.1:8080";
const api = createClient<paths>({ baseUrl });

function fail(what: string, problem: Problem): never {
  throw new Error(`${what}: ${problem.status} ${problem.title}: ${problem.detail}`);
}

async function signIn(email: string): Promise<Record<string, string>> {
  const password = process.env.RUNBACK_PASSWORD ?? "";
  const login = await api.POST("/v1/auth/login", { body: { email, password } });
  if (login.error) fail(`sign-in as ${email}`, login.error);
  return { Authorization: `Bearer ${login.data.access_token}` };
}

function entryLine(entry: TimelineEntry): string {
  switch (entry.kind) {
    case "session":
      return `${entry.date} session at ${entry.stage}, ${entry.completed ? "done" : "not done"}`;
    case "report":
      return `${entry.date} report: ${entry.triage}, pain ${entry.max_pain}, leak ${entry.urine_leak ?? "not said"}`;
    case "readiness":
      return `${entry.date} ${entry.test} (${entry.side}): ${entry.passed ? "passed" : "not yet"}`;
    case "transition":
      return `${entry.date} ${entry.transition.action} by ${entry.transition.actor.type}`;
    case "check_in":
      return `${entry.date} check-in: ${entry.sleep_hours} h sleep`;
  }
}

function changeLine(change: SyncChange): string {
  // `entity` narrows `data` to that record's own schema.
  if (change.op === "delete" || change.data === undefined) return `${change.entity} deleted`;
  switch (change.entity) {
    case "client":
      return `client ${change.data.name}`;
    case "symptom_report":
      return `report ${change.data.triage.level}`;
    case "plan":
      return `plan at ${change.data.stage}`;
    default:
      return change.entity;
  }
}

async function main(): Promise<void> {
  const coach = await signIn(process.env.RUNBACK_COACH_EMAIL ?? "");
  const mother = await signIn(process.env.RUNBACK_EMAIL ?? "");
  console.log("signed in: the coach and the mother");

  const clients: components["schemas"]["ClientSummary"][] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await api.GET("/v1/clients", { params: { query: { limit: 2, cursor } }, headers: coach });
    if (page.error) fail("the caseload", page.error);
    clients.push(...page.data.items);
    pages += 1;
    cursor = page.data.next_cursor ?? undefined;
  } while (cursor);
  console.log(`caseload: ${clients.length} clients in ${pages} pages`);
  const ana = clients.find((c) => c.name === "Ana Lima");
  if (!ana) throw new Error("Ana Lima is not in the caseload");
  const client_id = ana.id;

  const plan = await api.GET("/v1/clients/{client_id}/plan", { params: { path: { client_id } }, headers: coach });
  if (plan.error) fail("her plan", plan.error);
  console.log(`plan: ${plan.data.stage} level ${plan.data.level ?? "-"}, ${plan.data.status}`);

  const today = await api.GET("/v1/clients/{client_id}/plan/today", {
    params: { path: { client_id: "me" } },
    headers: mother,
  });
  if (today.error) fail("today", today.error);
  console.log(`today (${today.data.date}): ${today.data.kind}, ${today.data.stage_title}`);

  const report: SymptomReportInput = { timing: "next_day", pain: [], urine_leak: "none" };
  const key = randomUUID();
  const send = () =>
    api.POST("/v1/clients/{client_id}/symptom-reports", {
      params: { path: { client_id: "me" }, header: { "Idempotency-Key": key } },
      body: report,
      headers: mother,
    });
  const first = await send();
  const again = await send();
  if (first.error) fail("the report", first.error);
  if (again.error) fail("the report's retry", again.error);
  if (again.data.id !== first.data.id || again.response.headers.get("idempotent-replayed") !== "true")
    throw new Error("the retry was not answered with the first report");
  console.log(`report ${first.data.id}: triage ${first.data.triage.level}; its retry answered the same report`);

  const timeline = await api.GET("/v1/clients/{client_id}/timeline", { params: { path: { client_id } }, headers: coach });
  if (timeline.error) fail("the timeline", timeline.error);
  for (const entry of timeline.data.items) console.log(`  ${entryLine(entry)}`);

  const trace = await api.GET("/v1/clients/{client_id}/plan/recommendation", {
    params: { path: { client_id } },
    headers: coach,
  });
  if (trace.error) fail("the trace", trace.error);
  const decided = trace.data.rules.filter((r) => r.decided).map((r) => r.rule);
  console.log(`trace: ${trace.data.decision} after ${trace.data.cause.kind}; decided by ${decided.join(", ") || "none"}`);
  for (const check of trace.data.rules) {
    // `rule` narrows `inputs` to that rule's own schema.
    if (check.rule === "R4") {
      const { this_week_minutes, last_week_minutes, cap_minutes } = check.inputs;
      console.log(`  R4: ${this_week_minutes} min this week, ${last_week_minutes} last, cap ${cap_minutes ?? "none"}`);
    }
  }

  let feedCursor: string | undefined;
  let feedPages = 0;
  const seen: string[] = [];
  for (;;) {
    const page = await api.GET("/v1/sync", { params: { query: { limit: 3, cursor: feedCursor } }, headers: coach });
    if (page.error) fail("the change feed", page.error);
    seen.push(...page.data.changes.map(changeLine));
    feedPages += 1;
    feedCursor = page.data.next_cursor;
    if (!page.data.has_more) break;
  }
  console.log(`feed: ${seen.length} changes in ${feedPages} pages (${seen.join("; ")})`);

  const bad = await api.POST("/v1/clients/{client_id}/symptom-reports", {
    params: { path: { client_id: "me" } },
    body: { timing: "during", pain: [{ location: "hip", nrs: 42 }] },
    headers: mother,
  });
  if (!bad.error || bad.response.status !== 422) throw new Error("pain 42 was not refused");
  console.log(`422 ${bad.error.title}: ${(bad.error.errors ?? []).map((e) => e.field).join(", ")}`);

  for (let i = 0; i < 200; i++) {
    const exported = await api.GET("/v1/clients/{client_id}/export", { params: { path: { client_id } }, headers: coach });
    if (exported.response.status === 429 && exported.error) {
      console.log(`429 ${exported.error.title}: Retry-After ${exported.response.headers.get("retry-after")} s`);
      console.log("tour: done");
      return;
    }
  }
  throw new Error("the export was never throttled");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
