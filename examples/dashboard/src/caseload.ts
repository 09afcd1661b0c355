// The caseload: the coach's clients, most urgent first (open red medical flags, then red pelvic,
// then amber, then the latest report's colour), with filters and cursor paging. Rows refresh
// without a reload: every few seconds the clients changed since the last look are fetched
// (`updated_since`) and merged in.
import type { Schemas, Session } from "./api";
import { h, show, status, triageBadge, urgency, words } from "./dom";
import { problemBlock } from "./problem";

type Summary = Schemas["Page_ClientSummary"]["items"][number];
type Filters = {
  status?: Schemas["ClientStatus"];
  stage?: Schemas["StageKey"];
  flag?: Schemas["TriageLevel"];
  q?: string;
};

const PAGE = 25;
const POLL_MS = 5_000;

export function score(row: Summary): number {
  const flags = row.open_flags;
  return (
    flags.red_medical * 3000 +
    flags.red_pelvic * 2000 +
    flags.amber * 1000 +
    urgency(row.last_report?.triage) * 10
  );
}

/** Most urgent first; then by name. */
export function byUrgency(a: Summary, b: Summary): number {
  return score(b) - score(a) || a.name.localeCompare(b.name);
}

function select(name: string, label: string, options: string[]): HTMLElement {
  return h(
    "label",
    {},
    label,
    h(
      "select",
      { name },
      h("option", { value: "" }, "any"),
      ...options.map((o) => h("option", { value: o }, words(o))),
    ),
  );
}

export function caseload(session: Session, view: HTMLElement): () => void {
  let rows: Summary[] = [];
  let filters: Filters = {};
  const cursors: (string | undefined)[] = [undefined];
  let next: string | null | undefined;
  let since = new Date();
  let stopped = false;

  const form = h(
    "form",
    { class: "filters", "aria-label": "Filter the caseload" },
    select("status", "Status", ["active", "paused", "discharged"]),
    select("stage", "Stage", ["crawling", "walking_hills", "lunges", "jogging"]),
    select("flag", "Open flag", ["red_medical", "red_pelvic", "amber"]),
    h("label", {}, "Search", h("input", { name: "q", type: "search", placeholder: "name or email" })),
    h("button", { type: "submit" }, "Apply"),
  );
  const table = h("div", { class: "table-wrap" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const problems = h("div");
  show(view, h("h1", {}, "Caseload"), form, problems, table, pager);

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const value = (k: string) => (data.get(k) as string | null) || undefined;
    filters = {
      status: value("status") as Filters["status"],
      stage: value("stage") as Filters["stage"],
      flag: value("flag") as Filters["flag"],
      q: value("q"),
    };
    cursors.length = 1;
    void load(undefined);
  });

  function render(): void {
    const sorted = [...rows].sort(byUrgency);
    const body = sorted.map((r) =>
      h(
        "tr",
        { "data-client": r.id },
        h("th", { scope: "row" }, h("a", { href: `#/client/${r.id}` }, r.name)),
        h("td", {}, r.plan ? words(r.plan.stage) : "no plan"),
        h("td", {}, r.plan?.level != null ? String(r.plan.level) : "–"),
        h("td", {}, String(r.days_postpartum)),
        h(
          "td",
          {},
          r.last_report
            ? h("span", {}, triageBadge(r.last_report.triage), ` ${r.last_report.reported_on}`)
            : "none yet",
        ),
        h(
          "td",
          {},
          ...(["red_medical", "red_pelvic", "amber"] as const)
            .filter((level) => r.open_flags[level] > 0)
            .map((level) => h("span", {}, triageBadge(level), ` × ${r.open_flags[level]} `)),
          score(r) < 1000 ? "none" : null,
        ),
        h("td", {}, String(r.sessions_last_14_days)),
      ),
    );
    show(
      table,
      h(
        "table",
        { class: "caseload" },
        h("caption", {}, `${rows.length} clients on this page, most urgent first`),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...[
              "Client",
              "Stage",
              "Level",
              "Days postpartum",
              "Last report",
              "Open flags",
              "Sessions (14 days)",
            ].map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h("tbody", {}, ...body),
      ),
    );
    const page = cursors.length;
    const prev = h("button", { type: "button", disabled: page === 1 }, "Previous page");
    const more = h("button", { type: "button", disabled: !next }, "Next page");
    prev.addEventListener("click", () => {
      cursors.pop();
      void load(cursors[cursors.length - 1]);
    });
    more.addEventListener("click", () => {
      if (!next) return;
      cursors.push(next);
      void load(next);
    });
    show(pager, prev, h("span", {}, `Page ${page}`), more);
  }

  async function load(cursor: string | undefined): Promise<void> {
    show(problems);
    try {
      since = new Date(Date.now() - 2_000);
      const { data } = await session.call(() =>
        session.api.GET("/v1/clients", {
          params: { query: { limit: PAGE, cursor, ...filters } },
        }),
      );
      rows = data.items;
      next = data.next_cursor;
      render();
      status(`Caseload loaded: ${rows.length} clients.`);
    } catch (error) {
      show(problems, problemBlock(error));
    }
  }

  /** Clients changed since the last look, merged into the page. */
  async function poll(): Promise<void> {
    if (stopped || !session.signedIn) return;
    const from = since;
    since = new Date();
    try {
      const { data } = await session.call(() =>
        session.api.GET("/v1/clients", {
          params: { query: { limit: 200, updated_since: from.toISOString(), ...filters } },
        }),
      );
      let changed = 0;
      for (const fresh of data.items) {
        const at = rows.findIndex((r) => r.id === fresh.id);
        if (at >= 0) {
          rows[at] = fresh;
          changed += 1;
        } else if (cursors.length === 1 && rows.length < PAGE) {
          rows.push(fresh);
          changed += 1;
        }
      }
      if (changed) {
        render();
        status(`${changed} client${changed === 1 ? "" : "s"} updated.`);
      }
    } catch {
      since = from; // try the same window again next time
    }
  }

  void load(undefined);
  const timer = setInterval(() => void poll(), POLL_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
