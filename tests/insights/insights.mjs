// A member opens a community's insights page in a browser: the SVG charts carry the month's
// figures (bars of the weekly rhythm, each node's share, the exchange matrix), axe-core finds
// no serious violation, and the CSV the page offers downloads and parses back. Prints one JSON
// object as its last line (`out`, with what the page showed).
import { start, check } from "./roundtable-browser.mjs";
import { readFileSync } from "node:fs";

const { A, PAGE, SHOTS, JS, LOGIN, PASSWORD } = process.env;
const js = JS !== "off";
const run = await start({ js, shots: SHOTS, seconds: 240 });
const { look } = run;

try {
  const ctx = await run.context();
  const p = await ctx.newPage();
  await p.goto(`${A}/sign-in`);
  await p.getByLabel("User name or email address").fill(LOGIN);
  await p.getByLabel("Password").fill(PASSWORD);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.waitForLoadState();
  const r = await run.go(p, `${A}${PAGE}`);
  check(r.status() === 200, `the insights page answered ${r.status()}`);
  await look(p, "insights");
  run.out.weeks = await p.$$eval("#rhythm-chart g.week", (gs) => gs.map((g) => ({
    week: g.dataset.week,
    value: Number(g.dataset.value),
    height: Number(g.querySelector("rect").getAttribute("height")),
    text: g.querySelector("text").textContent,
  })));
  run.out.shares = await p.$$eval("#shares-chart g.share", (gs) => gs.map((g) => ({
    node: g.dataset.node, percent: Number(g.dataset.value),
    width: Number(g.querySelector("rect").getAttribute("width")),
  })));
  run.out.cells = await p.$$eval("#exchange-chart g.cell", (gs) => gs.map((g) => ({
    from: g.dataset.from, to: g.dataset.to, value: Number(g.dataset.value),
    text: g.querySelector("text").textContent,
  })));
  run.out.findings = await p.$$eval("#findings-list li", (lis) => lis.map((li) => li.textContent));
  // The CSV of the weekly rhythm, downloaded as a browser does.
  const [download] = await Promise.all([
    p.waitForEvent("download"),
    p.getByRole("link", { name: "Download the weekly rhythm (CSV)" }).click(),
  ]);
  const text = readFileSync(await download.path(), "utf8");
  run.out.csv = text.trim().split(/\r?\n/).map((line) => line.split(","));
  await run.finish();
} catch (e) {
  await run.finish(e);
}
