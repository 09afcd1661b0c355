// Shared set-up for the browser checks: Debian's Chromium driven by puppeteer-core, every
// request to an origin not allowed blocked (and recorded), console errors and page errors
// recorded, axe-core at hand for accessibility.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
export const AXE = require.resolve("axe-core/axe.min.js");
export const OUT = process.env.BROWSER_OUT ?? "../../target/browser";
mkdirSync(OUT, { recursive: true });

export async function launch() {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
    defaultViewport: { width: 1280, height: 900 },
  });
}

/** A page that may talk to `origins` only; returns it with its recorded troubles. */
export async function watchedPage(browser, origins) {
  const page = await browser.newPage();
  const trouble = { blocked: [], console: [], errors: [] };
  await page.setRequestInterception(true);
  page.on("request", (req) => {
    const url = req.url();
    if (url.startsWith("data:") || origins.includes(new URL(url).origin)) {
      req.continue();
    } else {
      trouble.blocked.push(url);
      req.abort("blockedbyclient");
    }
  });
  page.on("console", (msg) => {
    if (msg.type() === "error") trouble.console.push(msg.text());
  });
  page.on("pageerror", (err) => trouble.errors.push(String(err)));
  return { page, trouble };
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function accessibility(page, label) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  console.log(`${label}: ${result.length} accessibility findings, ${bad.length} serious or critical`);
  for (const v of result) console.log(`  ${v.impact}: ${v.id} (${v.nodes}) ${v.help}`);
  return bad;
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log(`ok: ${message}`);
}
