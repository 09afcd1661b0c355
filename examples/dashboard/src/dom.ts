// A few DOM helpers: elements are built, never parsed from strings, so no value from the API is
// ever interpreted as HTML.
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** Replaces what `parent` shows. */
export function show(parent: HTMLElement, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => !!c));
}

/** Words for an API enum value: `red_pelvic` → `red pelvic`. */
export function words(value: string): string {
  return value.replaceAll("_", " ");
}

/** A triage colour as a badge that says it in words too (never colour alone). */
export function triageBadge(level: string): HTMLElement {
  return h("span", { class: `badge ${level}` }, words(level));
}

/** How urgent a triage level is: red medical first, then red pelvic, amber, green. */
export function urgency(level: string | null | undefined): number {
  return { red_medical: 3, red_pelvic: 2, amber: 1, green: 0 }[level ?? ""] ?? 0;
}

export function status(message: string): void {
  const el = document.getElementById("status");
  if (el) el.textContent = message;
}
