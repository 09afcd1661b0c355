// The flags inbox: open flags, most urgent first, each with what triggered it; resolving one
// takes a note (kept on the flag for good), and the plan moves as the API decides.
import type { Schemas, Session } from "./api";
import { h, show, status, triageBadge, urgency } from "./dom";
import { problemBlock } from "./problem";

type Flag = Schemas["FlagView"];

export function byUrgency(a: Flag, b: Flag): number {
  return urgency(b.level) - urgency(a.level) || a.opened_at.localeCompare(b.opened_at);
}

export function flagsInbox(session: Session, view: HTMLElement): () => void {
  const list = h("div", { class: "flags" });
  const problems = h("div");
  show(view, h("h1", {}, "Flags inbox"), problems, list);

  function card(flag: Flag): HTMLElement {
    const name = flag.client?.name ?? "A client";
    const noteId = `note-${flag.id}`;
    const feedback = h("div");
    const form = h(
      "form",
      { class: "resolve" },
      h("label", { for: noteId }, "Resolution note"),
      h("textarea", { id: noteId, name: "note", rows: "2", required: true }),
      h("button", { type: "submit" }, "Resolve"),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      show(feedback);
      const note = (new FormData(form).get("note") as string | null) ?? "";
      try {
        await session.call(() =>
          session.api.POST("/v1/flags/{id}/resolve", {
            params: { path: { id: flag.id } },
            body: { note },
          }),
        );
        status(`Flag for ${name} resolved.`);
        await load();
      } catch (error) {
        show(feedback, problemBlock(error));
      }
    });
    const findings = (flag.report?.findings ?? []).map((f) => h("li", {}, f.message));
    return h(
      "article",
      { class: "flag", "data-flag": flag.id, "aria-labelledby": `title-${flag.id}` },
      h(
        "h2",
        { id: `title-${flag.id}` },
        triageBadge(flag.level),
        " ",
        h("a", { href: `#/client/${flag.client_id}` }, name),
      ),
      h(
        "p",
        {},
        `Opened ${new Date(flag.opened_at).toLocaleString()}; ${flag.report_count} report${
          flag.report_count === 1 ? "" : "s"
        }.`,
      ),
      findings.length ? h("ul", {}, ...findings) : null,
      form,
      feedback,
    );
  }

  async function load(): Promise<void> {
    show(problems);
    try {
      const { data } = await session.call(() =>
        session.api.GET("/v1/flags", { params: { query: { limit: 100 } } }),
      );
      const flags = [...data.items].sort(byUrgency);
      show(
        list,
        flags.length ? null : h("p", {}, "No open flags."),
        ...flags.map(card),
      );
    } catch (error) {
      show(problems, problemBlock(error));
    }
  }

  void load();
  return () => {};
}
