// problem+json (RFC 9457) as a coach reads it: the title, what went wrong, and each field's
// message next to the field's name. Never raw JSON.
import { ApiProblem } from "./api";
import { h } from "./dom";

/** A block that explains a failed call, for an `role="alert"` region. */
export function problemBlock(error: unknown): HTMLElement {
  if (error instanceof ApiProblem) {
    const { problem } = error;
    const fields = (problem.errors ?? []).map((e) =>
      h("li", {}, h("strong", {}, `${e.field.replaceAll("_", " ")}: `), e.message),
    );
    return h(
      "div",
      { class: "problem", role: "alert" },
      h("p", { class: "problem-title" }, problem.title),
      h("p", {}, problem.detail),
      fields.length ? h("ul", {}, ...fields) : null,
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return h(
    "div",
    { class: "problem", role: "alert" },
    h("p", { class: "problem-title" }, "The service could not be reached"),
    h("p", {}, message),
  );
}
