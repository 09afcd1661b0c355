// One client: her plan with the engine's recommendation and its reasons, today's prescription,
// her 90-day timeline as a chart, and the coach's transition form. Transitions carry the plan's
// ETag in `If-Match`: if the plan changed meanwhile (a report moved it, another coach acted),
// the answer is a 412, the coach is told so and the page shows the plan as it is now.
import { ApiProblem, type Schemas, type Session } from "./api";
import { timelineChart } from "./chart";
import { h, show, status, words } from "./dom";
import { problemBlock } from "./problem";

type Action = Schemas["TransitionAction"];
const ACTIONS: Action[] = ["advance", "hold", "regress", "pause", "resume", "complete", "discharge"];

function card(title: string, ...children: (Node | string | null)[]): HTMLElement {
  return h("section", { class: "card", "aria-label": title }, h("h2", {}, title), ...children);
}

export function clientPage(session: Session, view: HTMLElement, id: string): () => void {
  const feedback = h("div");

  async function load(): Promise<void> {
    try {
      const [client, planAnswer, timeline] = await Promise.all([
        session.call(() =>
          session.api.GET("/v1/clients/{client_id}", { params: { path: { client_id: id } } }),
        ),
        session
          .call(() =>
            session.api.GET("/v1/clients/{client_id}/plan", { params: { path: { client_id: id } } }),
          )
          .catch((e: unknown) => {
            if (e instanceof ApiProblem && e.status === 404) return null; // no plan yet
            throw e;
          }),
        session.call(() =>
          session.api.GET("/v1/clients/{client_id}/timeline", {
            params: { path: { client_id: id }, query: {} },
          }),
        ),
      ]);
      const c = client.data;
      const plan = planAnswer?.data ?? null;
      // Today's prescription only when she has a plan (without one it would be a 404).
      const today = plan
        ? await session.call(() =>
            session.api.GET("/v1/clients/{client_id}/plan/today", {
              params: { path: { client_id: id }, query: {} },
            }),
          )
        : null;
      const etag = planAnswer?.response.headers.get("etag") ?? null;
      const width = Math.min(view.clientWidth || 900, 1100) - 32;
      show(
        view,
        h("h1", {}, c.name),
        h(
          "p",
          { class: "facts" },
          `${c.days_postpartum} days postpartum · ${words(c.delivery_type)} birth · ${c.status} · `,
          c.cleared_for_exercise.cleared ? "cleared for exercise" : "not yet cleared for exercise",
        ),
        feedback,
        plan ? planCard(plan) : card("Plan", h("p", {}, "No plan yet.")),
        today ? todayCard(today.data) : null,
        card("Timeline (90 days)", timelineChart(timeline.data.items, width)),
        plan ? transitionCard(plan, etag) : null,
      );
      status(`${c.name}'s page loaded.`);
    } catch (error) {
      show(view, h("h1", {}, "Client"), problemBlock(error));
    }
  }

  function planCard(plan: Schemas["PlanView"]): HTMLElement {
    const rec = plan.recommendation;
    return card(
      "Plan",
      h(
        "p",
        {},
        `${words(plan.stage)}${plan.level != null ? `, level ${plan.level}` : ""} · ${plan.status} since ${plan.started_on}`,
      ),
      rec
        ? h(
            "div",
            { class: "recommendation" },
            h("p", {}, h("strong", {}, "Recommendation: "), `${words(rec.decision)} → ${words(rec.target_stage)}`),
            h("ul", {}, ...rec.reasons.map((r) => h("li", {}, h("code", {}, r.rule), " ", r.message))),
          )
        : h("p", {}, "No recommendation yet."),
    );
  }

  function todayCard(today: Schemas["Prescription"]): HTMLElement {
    return card(
      "Today",
      h("p", {}, today.message),
      today.run
        ? h(
            "p",
            {},
            `${today.run.repeats} × run ${today.run.run_seconds} s / walk ${today.run.walk_seconds} s`,
          )
        : null,
      today.exercises.length
        ? h("ul", {}, ...today.exercises.map((e) => h("li", {}, e.name)))
        : null,
      today.safety_notes.length
        ? h("details", {}, h("summary", {}, "Safety notes"), h("ul", {}, ...today.safety_notes.map((n) => h("li", {}, n))))
        : null,
    );
  }

  function transitionCard(plan: Schemas["PlanView"], etag: string | null): HTMLElement {
    const form = h(
      "form",
      { class: "transition" },
      h(
        "label",
        {},
        "Action",
        h("select", { name: "action" }, ...ACTIONS.map((a) => h("option", { value: a }, words(a)))),
      ),
      h("label", {}, "Reason", h("textarea", { name: "reason", rows: "2", required: true })),
      h("button", { type: "submit" }, "Apply"),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      try {
        await session.call(() =>
          session.api.POST("/v1/clients/{client_id}/plan/transitions", {
            params: {
              path: { client_id: plan.client_id },
              header: { "If-Match": etag ?? undefined },
            },
            body: {
              action: data.get("action") as Action,
              reason: (data.get("reason") as string | null) ?? "",
            },
          }),
        );
        status("The plan was changed.");
        await load();
      } catch (error) {
        if (error instanceof ApiProblem && error.status === 412) {
          await load();
          show(
            feedback,
            h(
              "div",
              { class: "problem", role: "alert" },
              h("p", { class: "problem-title" }, error.problem.title),
              h("p", {}, "Her plan changed since you opened this page, so nothing was applied. It now shows the plan as it is: check it and apply again if you still want to."),
            ),
          );
          return;
        }
        show(feedback, problemBlock(error));
      }
    });
    return card("Change the plan", form);
  }

  void load();
  return () => {};
}

