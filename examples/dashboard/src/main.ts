// The dashboard's shell: sign-in, navigation and a hash router (#/caseload, #/flags,
// #/client/{id}). Everything it shows comes from runback's API, typed from its OpenAPI document.
import "./style.css";

import { defaultBaseUrl, Session } from "./api";
import { caseload } from "./caseload";
import { clientPage } from "./client";
import { h, show, status } from "./dom";
import { flagsInbox } from "./flags";
import { problemBlock } from "./problem";

const view = document.getElementById("view") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const who = document.getElementById("who") as HTMLElement;
const session = new Session();
let leave: () => void = () => {};

function signInPage(): void {
  const feedback = h("div");
  const form = h(
    "form",
    { class: "sign-in", "aria-labelledby": "sign-in-title" },
    h("h1", { id: "sign-in-title" }, "Sign in"),
    h("label", {}, "API address", h("input", { name: "api", type: "url", value: defaultBaseUrl, required: true })),
    h("label", {}, "Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    h(
      "label",
      {},
      "Password",
      h("input", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ),
    h("button", { type: "submit" }, "Sign in"),
    feedback,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const field = (k: string) => ((data.get(k) as string | null) ?? "").trim();
    try {
      await session.signIn(field("api").replace(/\/+$/, ""), field("email"), field("password"));
      location.hash = "#/caseload";
      await route();
    } catch (error) {
      show(feedback, problemBlock(error));
    }
  });
  nav.hidden = true;
  show(view, form);
}

async function route(): Promise<void> {
  leave();
  leave = () => {};
  if (!session.signedIn) {
    signInPage();
    return;
  }
  nav.hidden = false;
  if (!who.textContent) {
    try {
      const { data } = await session.call(() => session.api.GET("/v1/me"));
      who.textContent = `${data.name} · ${data.organization.name}`;
    } catch {
      // The pages below show any problem themselves.
    }
  }
  const [, page, id] = location.hash.split("/");
  for (const link of nav.querySelectorAll("a")) {
    const current = link.getAttribute("href") === `#/${page}`;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (page === "client" && id) leave = clientPage(session, view, id);
  else if (page === "flags") leave = flagsInbox(session, view);
  else leave = caseload(session, view);
  view.focus();
}

session.onSignedOut = () => {
  who.textContent = "";
  status("Signed out.");
  signInPage();
};
document.getElementById("sign-out")?.addEventListener("click", () => void session.signOut());
window.addEventListener("hashchange", () => void route());
void route();
