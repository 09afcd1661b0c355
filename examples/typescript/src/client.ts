// What a mother's app does each morning, typed entirely from runback's OpenAPI document
// (`npm run types` regenerates src/runback.d.ts from openapi/openapi.json):
// sign in, read today's session, and report how the last run felt.
//
//   RUNBACK_URL=http://127.0.0.1:8080 RUNBACK_EMAIL=ana@example.org RUNBACK_PASSWORD=... npm start
import createClient from "openapi-fetch";
import { randomUUID } from "node:crypto";

import type { components, paths } from "./runback.js";

type Prescription = components["schemas"]["Prescription"];
type SymptomReportInput = components["schemas"]["SymptomReportInput"];
type Problem = components["schemas"]["Problem"];

const baseUrl = process.env.RUNBACK_URL ?? "http://127.0.0.1:8080";

function explain(problem: Problem): string {
  const fields = (problem.errors ?? []).map((e) => `${e.field}: ${e.message}`).join("; ");
  return `${problem.status} ${problem.title}: ${problem.detail}${fields ? ` (${fields})` : ""}`;
}

function describe(today: Prescription): string {
  if (today.kind !== "session") return today.message; // rest, paused, finished, not_yet
  if (today.run) {
    const { repeats, run_seconds, walk_seconds } = today.run;
    return `${today.stage_title}, level ${today.level}: ${repeats} × (run ${run_seconds} s, walk ${walk_seconds} s)`;
  }
  return `${today.stage_title}: ${today.exercises.map((e) => e.name).join(", ")}`;
}

async function main(): Promise<void> {
  const api = createClient<paths>({ baseUrl });

  const login = await api.POST("/v1/auth/login", {
    body: {
      email: process.env.RUNBACK_EMAIL ?? "",
      password: process.env.RUNBACK_PASSWORD ?? "",
    },
  });
  if (login.error) throw new Error(`sign-in failed: ${explain(login.error)}`);
  const headers = { Authorization: `Bearer ${login.data.access_token}` };

  const today = await api.GET("/v1/clients/{client_id}/plan/today", {
    params: { path: { client_id: "me" } },
    headers,
  });
  if (today.error) throw new Error(`today's session: ${explain(today.error)}`);
  console.log(`today (${today.data.date}): ${describe(today.data)}`);
  for (const note of today.data.safety_notes) console.log(`  safety: ${note}`);

  const report: SymptomReportInput = {
    id: randomUUID(), // a retry after a lost answer is then not a second report
    timing: "immediately_after",
    pain: [{ location: "knee", nrs: 2 }],
    urine_leak: "none",
    notes: "Felt good; a little knee ache at the end.",
  };
  const sent = await api.POST("/v1/clients/{client_id}/symptom-reports", {
    params: { path: { client_id: "me" }, header: { "Idempotency-Key": report.id ?? undefined } },
    body: report,
    headers,
  });
  if (sent.error) throw new Error(`report: ${explain(sent.error)}`);
  console.log(
    `report ${sent.data.id}: triage ${sent.data.triage.level}; next: ${sent.data.recommendation?.decision ?? "no plan"}`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
