// What every browser script of the web tests shares: Debian's chromium through
// playwright-core, contexts with JavaScript on or off, a watch for 5xx answers and
// Content-Security-Policy violations, axe-core and screenshots of each page type (in the
// JavaScript run: axe-core is a script, and the markup is the same in both runs), and a
// time limit. A script prints `out` as its last line with `finish`.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

export async function start({ js, shots, seconds = 300 }) {
  const out = { js, pages: {}, violations: [], cspErrors: [], serverErrors: [] };
  setTimeout(() => {
    console.log(JSON.stringify({ ...out, error: "the browser script timed out" }));
    process.exit(1);
  }, seconds * 1000).unref();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const watch = (page) => {
    page.on("console", (msg) => {
      if (/Content Security Policy|Refused to/.test(msg.text())) out.cspErrors.push(msg.text());
    });
    page.on("response", (r) => {
      if (r.status() >= 500) out.serverErrors.push(`${r.status()} ${r.url()}`);
    });
  };
  const b = {
    out,
    // A new browser context (its own cookies), with JavaScript as the run has it.
    async context() {
      const ctx = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 900 } });
      ctx.on("page", watch);
      return ctx;
    },
    async page() {
      return (await b.context()).newPage();
    },
    // axe-core and screenshots (desktop and phone widths) of a page type, once a run.
    async look(page, kind) {
      if (!js || out.pages[kind]) return;
      await page.evaluate(AXE);
      const result = await page.evaluate(() =>
        axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }));
      const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      for (const v of serious) {
        out.violations.push({ page: kind, id: v.id, impact: v.impact, help: v.help,
                              nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) });
      }
      out.pages[kind] = { url: page.url(), violations: serious.length, passes: result.passes.length };
      for (const [width, height, label] of [[1280, 900, "desktop"], [390, 844, "phone"]]) {
        await page.setViewportSize({ width, height });
        await page.screenshot({ path: `${shots}/${kind}-${label}.png`, fullPage: true });
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    },
    // Opens `url`; a 5xx fails the run.
    async go(page, url) {
      const r = await page.goto(url);
      check(r && r.status() < 500, `${url} answered ${r && r.status()}`);
      return r;
    },
    // Reloads `url` until `text` is on it (what crosses nodes arrives asynchronously).
    async until(page, url, text, what) {
      for (let i = 0; i < 60; i++) {
        await b.go(page, url);
        if ((await page.content()).includes(text)) return;
        await page.waitForTimeout(250);
      }
      throw new Error(`waited in vain for ${what} at ${url}`);
    },
    // Closes the browser and prints what the run found.
    async finish(error) {
      if (error) out.error = String((error && error.stack) || error);
      await browser.close();
      console.log(JSON.stringify(out));
    },
  };
  return b;
}
