// A mother's app that works offline, on runback's change feed (`GET /v1/sync`):
// 1. sync: follow the feed from the stored cursor into the phone's store;
// 2. offline in the park: record a run and the next morning's report in a queue, each with an
//    id the app chooses, so that sending it again can never make a second record;
// 3. back online: replay the queue (twice, as a flaky connection would), then sync again;
// 4. check that the store holds each of them once, as the server saw them.
//
//   RUNBACK_URL=http://127.0.0.1:8080 RUNBACK_EMAIL=ana@example.org RUNBACK_PASSWORD=... npm run offline
import createClient from "openapi-fetch";
import { randomUUID } from "node:crypto";

import type { components, paths } from "./runback.js";

type SyncChange = components["schemas"]["SyncChange"];
type SessionLogInput = components["schemas"]["NewSession"];
type SymptomReportInput = components["schemas"]["SymptomReportInput"];
type Problem = components["schemas"]["Problem"];

const baseUrl = process.env.RUNBACK_URL ?? "http://127.0.0.1:8080";
const api = createClient<paths>({ baseUrl });

function explain(problem: Problem): string {
  const fields = (problem.errors ?? []).map((e) => `${e.field}: ${e.message}`).join("; ");
  return `${problem.status} ${problem.title}: ${problem.detail}${fields ? ` (${fields})` : ""}`;
}

/** What the phone keeps: every record by "entity/id", and where the feed left off. */
class Store {
  records = new Map<string, NonNullable<SyncChange["data"]>>();
  cursor: string | undefined;

  apply(change: SyncChange): void {
    const key = `${change.entity}/${change.id}`;
    if (change.op === "upsert" && change.data) {
      this.records.set(key, change.data);
      return;
    }
    this.records.delete(key);
    if (change.entity === "client") {
      // Her deletion (or a coach's loss of her) takes everything of hers with it.
      for (const [k, record] of this.records) {
        if ("client_id" in record && record.client_id === change.id) this.records.delete(k);
      }
    }
  }

  count(entity: string): number {
    return [...this.records.keys()].filter((k) => k.startsWith(`${entity}/`)).length;
  }
}

/** Follows the feed to its end; starts again from scratch when the cursor has expired. */
async function sync(store: Store, headers: Record<string, string>): Promise<number> {
  let changes = 0;
  for (;;) {
    const page = await api.GET("/v1/sync", {
      params: { query: { cursor: store.cursor, limit: 200 } },
      headers,
    });
    if (page.response.status === 410) {
      console.log("sync: the cursor expired; starting again from scratch");
      store.records.clear();
      store.cursor = undefined;
      continue;
    }
    if (page.error) throw new Error(`sync: ${explain(page.error)}`);
    page.data.changes.forEach((change) => store.apply(change));
    changes += page.data.changes.length;
    store.cursor = page.data.next_cursor;
    if (!page.data.has_more) return changes;
  }
}

type Queued =
  | { kind: "session"; body: SessionLogInput }
  | { kind: "report"; body: SymptomReportInput };

/** Sends one queued write; a repeat of one already stored answers 200 with the same record. */
async function send(write: Queued, headers: Record<string, string>): Promise<number> {
  const path = { client_id: "me" };
  const result =
    write.kind === "session"
      ? await api.POST("/v1/clients/{client_id}/sessions", { params: { path }, body: write.body, headers })
      : await api.POST("/v1/clients/{client_id}/symptom-reports", { params: { path }, body: write.body, headers });
  if (result.error) throw new Error(`${write.kind}: ${explain(result.error)}`);
  return result.response.status;
}

async function main(): Promise<void> {
  const login = await api.POST("/v1/auth/login", {
    body: { email: process.env.RUNBACK_EMAIL ?? "", password: process.env.RUNBACK_PASSWORD ?? "" },
  });
  if (login.error) throw new Error(`sign-in failed: ${explain(login.error)}`);
  const headers = { Authorization: `Bearer ${login.data.access_token}` };

  const store = new Store();
  console.log(`first sync: ${await sync(store, headers)} changes, ${store.records.size} records`);
  const sessionsBefore = store.count("session");
  const reportsBefore = store.count("symptom_report");

  // Offline: yesterday's run and this morning's report wait in the queue.
  const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  const queue: Queued[] = [
    { kind: "session", body: { id: randomUUID(), performed_on: day(1), completed: true, duration_minutes: 24, rpe: 4 } },
    { kind: "report", body: { id: randomUUID(), timing: "next_day", reported_on: day(0), urine_leak: "none" } },
  ];
  console.log(`offline: ${queue.length} writes queued`);

  // Back online, on a flaky connection: everything is sent, then sent again.
  for (const round of [1, 2]) {
    const statuses = [];
    for (const write of queue) statuses.push(await send(write, headers));
    console.log(`replay ${round}: ${statuses.join(", ")}`);
  }

  const changes = await sync(store, headers);
  const sessions = store.count("session") - sessionsBefore;
  const reports = store.count("symptom_report") - reportsBefore;
  console.log(`sync again: ${changes} changes; new sessions ${sessions}, new reports ${reports}`);
  for (const write of queue) {
    const key = `${write.kind === "session" ? "session" : "symptom_report"}/${write.body.id}`;
    if (!store.records.has(key)) throw new Error(`${key} is missing after the sync`);
  }
  if (sessions !== 1 || reports !== 1) throw new Error("a replayed write was stored twice");
  const again = await sync(store, headers);
  if (again !== 0) throw new Error(`a sync with nothing new brought ${again} changes`);
  console.log("offline loop: nothing lost, nothing duplicated");
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
