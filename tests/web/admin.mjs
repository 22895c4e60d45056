// The admins of two nodes agree a partnership in their own browsers: one proposes it on its
// /admin page, the other accepts the request on theirs, and both list each other as partners.
// Run with JavaScript and without (JS=on|off). Prints one JSON object as its last line.
import { start, check } from "./roundtable-browser.mjs";

const { A, B, A_DOMAIN, B_DOMAIN, SHOTS, JS, PASSWORD } = process.env;
const js = JS !== "off";
const run = await start({ js, shots: SHOTS, seconds: 240 });
const { look, until } = run;
const page = run.page;

async function signIn(p, base, name) {
  await p.goto(`${base}/sign-in`);
  await p.getByLabel("User name or email address").fill(name);
  await p.getByLabel("Password").fill(PASSWORD);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.waitForLoadState();
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
  await run.finish();
} catch (e) {
  await run.finish(e);
}
