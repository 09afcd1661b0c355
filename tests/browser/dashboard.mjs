// The reference coaching dashboard against a live runback with the demo practice, as the demo
// coach uses it: sign in, the caseload with the red_pelvic client on top, her page with the
// timeline chart drawn, her flag resolved with a note, the caseload updated. No console errors,
// no request to any origin but the dashboard's and the API's, no serious or critical
// accessibility finding, and a screenshot of each page.
import { copyFileSync } from "node:fs";
import { launch, watchedPage, accessibility, check, OUT } from "./browser.mjs";

const api = process.env.RUNBACK_URL;
const dashboard = process.env.DASHBOARD_URL;
if (!api || !dashboard) throw new Error("RUNBACK_URL and DASHBOARD_URL are required");
const COACH = "maya@riverside-demo.example";
const PASSWORD = "runback demo password";
const RED_CLIENT = "Kavya Rao";

const browser = await launch();
const findings = [];
try {
  const { page, trouble } = await watchedPage(browser, [new URL(api).origin, new URL(dashboard).origin]);

  // Sign in.
  await page.goto(dashboard, { waitUntil: "networkidle0" });
  findings.push(...(await accessibility(page, "sign-in page")));
  const apiField = await page.$("input[name=api]");
  await apiField.click({ clickCount: 3 });
  await apiField.type(api);
  await page.type("input[name=email]", COACH);
  await page.type("input[name=password]", PASSWORD);
  await page.click("form.sign-in button[type=submit]");

  // The caseload, most urgent first.
  await page.waitForSelector("table.caseload tbody tr", { timeout: 30_000 });
  const first = await page.$eval("table.caseload tbody tr", (tr) => ({
    name: tr.querySelector("th")?.textContent,
    flags: tr.children[5]?.textContent,
  }));
  check(first.name === RED_CLIENT, `${RED_CLIENT} is on top of the caseload (top: ${first.name})`);
  check(first.flags?.includes("red pelvic"), `her row shows her open red_pelvic flag (${first.flags})`);
  await page.screenshot({ path: `${OUT}/dashboard-caseload.png` });
  findings.push(...(await accessibility(page, "caseload")));

  // Her page: plan, recommendation, today, and the chart with her data drawn.
  await Promise.all([page.waitForSelector("figure.chart canvas"), page.click("table.caseload tbody tr th a")]);
  await page.waitForFunction(() => document.querySelector("h1")?.textContent !== "Caseload");
  const heading = await page.$eval("main h1", (el) => el.textContent);
  check(heading === RED_CLIENT, `her page opens (${heading})`);
  const drawn = await page.$eval("figure.chart canvas", (canvas) => {
    const ctx = canvas.getContext("2d");
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let inked = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) inked++;
    return { width: canvas.width, inked };
  });
  check(drawn.width > 300 && drawn.inked > 2000, `the timeline chart is drawn (${drawn.inked} pixels inked)`);
  const legend = await page.$eval("figure.chart", (f) => f.textContent ?? "");
  check(legend.includes("leakage") && legend.includes("run minutes / week"), "the chart's legend names leakage and weekly running minutes");
  const recommendation = await page.$eval("section[aria-label=Plan]", (s) => s.textContent ?? "");
  check(recommendation.includes("Recommendation"), "her plan shows the engine's recommendation with its reasons");
  await page.screenshot({ path: `${OUT}/dashboard-client.png`, fullPage: true });
  findings.push(...(await accessibility(page, "client page")));

  // Another coach moves her plan meanwhile: applying a transition from this page, with the
  // ETag it read, is a 412 that the page explains before showing the plan as it is now.
  const clientId = page.url().split("/").pop();
  const login = await fetch(`${api}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: COACH, password: PASSWORD }),
  }).then((r) => r.json());
  const auth = { authorization: `Bearer ${login.access_token}` };
  const plan = await fetch(`${api}/v1/clients/${clientId}/plan`, { headers: auth });
  const moved = await fetch(`${api}/v1/clients/${clientId}/plan/transitions`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json", "if-match": plan.headers.get("etag") },
    body: JSON.stringify({ action: "hold", reason: "Holding while the physio sees her." }),
  });
  check(moved.status === 201, `her plan moved behind the page's back (${moved.status})`);
  await page.select("form.transition select[name=action]", "hold");
  await page.type("form.transition textarea[name=reason]", "Hold at lunges this week.");
  await page.click("form.transition button[type=submit]");
  const explained = await page.waitForSelector("xpath///div[@role='alert'][contains(., 'changed since you opened')]");
  check(explained !== null, "the stale ETag's 412 is explained, and the page shows the plan as it is now");

  // The flags inbox: resolve her flag with a note.
  await page.click("nav a[href='#/flags']");
  await page.waitForSelector("article.flag");
  const card = await page.waitForSelector(`xpath///article[contains(@class,'flag')][.//a[text()='${RED_CLIENT}']]`);
  findings.push(...(await accessibility(page, "flags inbox")));
  await page.screenshot({ path: `${OUT}/dashboard-flags.png` });
  const flagId = await card.evaluate((el) => el.getAttribute("data-flag"));
  await card.$eval("textarea", (t) => t.focus());
  await page.keyboard.type("Seen by the pelvic-health physio; cleared back to lunges.");
  await card.$eval("button[type=submit]", (b) => b.click());
  await page.waitForFunction((id) => !document.querySelector(`article[data-flag='${id}']`), {}, flagId);
  check(true, "her flag is resolved and leaves the inbox");

  // The caseload reflects it.
  await page.click("nav a[href='#/caseload']");
  await page.waitForFunction(
    (name) => {
      const row = [...document.querySelectorAll("table.caseload tbody tr")].find(
        (tr) => tr.querySelector("th")?.textContent === name,
      );
      return row && !row.children[5]?.textContent?.includes("red pelvic");
    },
    { timeout: 15_000 },
    RED_CLIENT,
  );
  check(true, "the caseload no longer shows her red_pelvic flag");
  await page.screenshot({ path: `${OUT}/dashboard-caseload-after.png` });

  if (process.env.UPDATE_SCREENSHOT) {
    copyFileSync(`${OUT}/dashboard-client.png`, "../../examples/dashboard/screenshot.png");
  }
  check(trouble.blocked.length === 0, `no request to another origin ${JSON.stringify(trouble.blocked)}`);
  // The one 412 above is expected, and Chromium logs every 4xx answer as a console error.
  const unexpected = trouble.console.filter((m) => !m.includes("status of 412"));
  check(trouble.console.length - unexpected.length <= 1, "the browser logged only the expected 412");
  check(unexpected.length === 0, `no other console errors ${JSON.stringify(unexpected)}`);
  check(trouble.errors.length === 0, `no page errors ${JSON.stringify(trouble.errors)}`);
  check(findings.length === 0, `no serious or critical accessibility findings ${JSON.stringify(findings)}`);
} finally {
  await browser.close();
}
console.log("dashboard: all checks passed");
