// The admins of two nodes agree a partnership in their own browsers: one proposes it on its
// /admin page, the other accepts the request on theirs, and both list each other as partners.
// Run with JavaScript and without (JS=on|off). Prints one JSON object as its last line.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const { A, B, A_DOMAIN, B_DOMAIN, SHOTS, JS, PASSWORD } = process.env;
const js = JS !== "off";
const out = { js, pages: {}, violations: [], cspErrors: [], serverErrors: [] };
setTimeout(() => { console.log(JSON.stringify({ ...out, error: "the browser script timed out" })); process.exit(1); }, 240_000).unref();

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function page() {
  const ctx = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 900 } });
  const p = await ctx.newPage();
  p.on("console", (m) => { if (/Content Security Policy|Refused to/.test(m.text())) out.cspErrors.push(m.text()); });
  p.on("response", (r) => { if (r.status() >= 500) out.serverErrors.push(`${r.status()} ${r.url()}`); });
  return p;
}

async function look(p, kind) {
  if (!js || out.pages[kind]) return;
  await p.evaluate(AXE);
  const result = await p.evaluate(() =>
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }));
  for (const v of result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")) {
    out.violations.push({ page: kind, id: v.id, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) });
  }
  out.pages[kind] = { passes: result.passes.length };
  for (const [width, height, label] of [[1280, 900, "desktop"], [390, 844, "phone"]]) {
    await p.setViewportSize({ width, height });
    await p.screenshot({ path: `${SHOTS}/${kind}-${label}.png`, fullPage: true });
  }
  await p.setViewportSize({ width: 1280, height: 900 });
}

async function signIn(p, base, name) {
  await p.goto(`${base}/sign-in`);
  await p.getByLabel("User name or email address").fill(name);
  await p.getByLabel("Password").fill(PASSWORD);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.waitForLoadState();
}

async function until(p, url, text, what) {
  for (let i = 0; i < 60; i++) {
    const r = await p.goto(url);
    check(r && r.status() < 500, `${url} answered ${r && r.status()}`);
    if ((await p.content()).includes(text)) return;
    await p.waitForTimeout(250);
  }
  throw new Error(`waited in vain for ${what}`);
}

try {
  const a = await page();
  const b = await page();
  await signIn(a, A, "root");
  await signIn(b, B, "root");
  await a.goto(`${A}/admin`);
  await look(a, "admin");
  // Bad input is explained beside its form.
  await a.getByLabel("Block a domain (and its subdomains)").fill("not a domain!!");
  await a.getByRole("button", { name: "Block", exact: true }).click();
  check(await a.locator("#block-error").isVisible(), "a bad domain is explained beside the block form");
  // Alpha's admin proposes; beta's admin accepts in their own browser.
  await a.getByLabel("Propose a partnership to a node").fill(B_DOMAIN);
  await a.getByRole("button", { name: "Propose", exact: true }).click();
  await a.waitForURL(/\/admin$/);
  check((await a.content()).includes("was proposed to"), "the proposal is confirmed");
  await until(b, `${B}/admin`, `asks to be partners`, "the request on the other node");
  await look(b, "admin-request");
  await b.getByRole("button", { name: `Accept ${A_DOMAIN}` }).click();
  await b.waitForURL(/\/admin$/);
  check((await b.content()).includes("is a partner now"), "the acceptance is confirmed");
  await until(a, `${A}/admin`, `End the partnership`, "the partnership on the proposing node");
  check((await a.locator("#partners ~ ul, section[aria-labelledby=partners]").first().innerText()).includes(B_DOMAIN),
        "the proposing node lists its new partner");
  // The directory names partner organizations.
  await a.goto(`${A}/communities`);
  check((await a.content()).includes("Partner organizations"), "the directory names the partners");
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
