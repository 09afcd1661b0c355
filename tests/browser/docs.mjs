// The API docs page, as a clinic's locked-down browser sees it: everything from the service's
// own origin (any other request is blocked and fails the check), a Content-Security-Policy that
// says so, the operations listed, and no console errors.
import { launch, watchedPage, check, OUT } from "./browser.mjs";

const base = process.env.RUNBACK_URL;
if (!base) throw new Error("RUNBACK_URL is required");
const origin = new URL(base).origin;

const browser = await launch();
try {
  const { page, trouble } = await watchedPage(browser, [origin]);
  const res = await page.goto(`${base}/docs`, { waitUntil: "networkidle0", timeout: 60_000 });
  check(res.status() === 200, "GET /docs answers 200");
  const csp = res.headers()["content-security-policy"] ?? "";
  check(csp.includes("default-src 'self'") && !csp.includes("http"), `the page's CSP allows its own origin only: ${csp}`);
  await page.waitForFunction(() => document.body.innerText.includes("Report symptoms."), { timeout: 30_000 });
  check(true, "the docs list the operations (\"Report symptoms.\")");
  const text = await page.evaluate(() => document.body.innerText);
  check(text.includes("Sign in with email and password."), "the docs list sign-in too");
  await page.screenshot({ path: `${OUT}/docs.png`, fullPage: false });
  check(trouble.blocked.length === 0, `no request left the service's origin ${JSON.stringify(trouble.blocked)}`);
  check(trouble.console.length === 0, `no console errors ${JSON.stringify(trouble.console)}`);
  check(trouble.errors.length === 0, `no page errors ${JSON.stringify(trouble.errors)}`);
  const redirect = await fetch(`${base}/docs/`, { redirect: "manual" });
  check(redirect.status === 308 && redirect.headers.get("location") === "/docs", "/docs/ redirects to /docs");
} finally {
  await browser.close();
}
console.log("docs page: all checks passed");
