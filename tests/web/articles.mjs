// Knowledge articles in a real browser: Debian's chromium driven by playwright-core, axe-core
// on the article, history, diff, edit and conflict pages. Two nodes: the community and its
// article live on alpha (BASE), where olga writes; bea is a member from beta (BETA). Two
// browser contexts open the edit page of the article on the same revision, each on their own
// node; olga saves first, bea's save (a proposal from beta to alpha) lands on the conflict
// screen, and bea resolves it there. Run once with JavaScript and
// once without (JS=on|off). Prints one JSON object (what the Rust test checks against the
// database) as its last line.
import { start, check } from "./roundtable-browser.mjs";

const { BASE, BETA, ALPHA_DOMAIN, SHOTS, JS, SUFFIX } = process.env;
const js = JS !== "off";
const olga = `olga${SUFFIX}`;
const bea = `bea${SUFFIX}`;
const slug = `wiki${SUFFIX}`;
const password = "correct horse battery staple";
const run = await start({ js, shots: SHOTS, seconds: 300 });
const { out, look, go, until, context } = run;


async function signUp(page, base, name) {
  await go(page, `${base}/sign-up`);
  await page.getByLabel("Email address").fill(`${name}@example.org`);
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Create my account" }).click();
  await go(page, `${base}/sign-in`);
  await page.getByLabel("User name or email address").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForLoadState();
  check((await page.locator("nav[aria-label=Account]").innerText()).includes(name), `${name} is signed in`);
}

const first = "# Deploys\n\nStep one: build.\nStep two: test.\nStep three: ship.";
const olgas = first.replace("Step two: test.", "Step two: run the test suite.");
const beas = first.replace("Step two: test.", "Step two: test on staging.");
const resolved = first.replace("Step two: test.", "Step two: run the test suite on staging.");

try {
  const a = await (await context()).newPage();
  const b = await (await context()).newPage();

  // Olga starts a community; bea joins it.
  await signUp(a, BASE, olga);
  await go(a, `${BASE}/communities/new`);
  await a.getByLabel("Handle").fill(slug);
  await a.getByLabel("Name").fill(`Wiki ${SUFFIX}`);
  await a.getByRole("button", { name: "Create the community" }).click();
  await a.waitForURL(`**/communities/${slug}`);
  await signUp(b, BETA, bea);
  await go(b, `${BETA}/communities`);
  await b.getByLabel("Its handle or address").fill(`${slug}@${ALPHA_DOMAIN}`);
  await b.getByRole("button", { name: "Open" }).click();
  await b.waitForURL(/\/communities\/wiki/);
  const remoteCommunity = b.url();
  await b.getByRole("button", { name: "Join" }).click();
  await until(b, remoteCommunity, "You are a member", "bea's membership to be accepted");

  // Olga writes the article from the community page; an empty title is refused beside it.
  await go(a, `${BASE}/communities/${slug}`);
  await a.getByRole("link", { name: "New article" }).click();
  await a.waitForURL(/\/articles\/new$/);
  await a.getByLabel("Text", { exact: true }).fill(first);
  await a.getByRole("button", { name: "Create the article" }).click();
  check(await a.locator("#field-title-error").isVisible(), "the missing title is explained beside the field");
  check((await a.getByLabel("Text", { exact: true }).inputValue()).includes("Step three"), "the typed text is kept");
  await a.getByLabel("Title").fill(`Deploy runbook ${SUFFIX}`);
  await a.getByRole("button", { name: "Create the article" }).click();
  await a.waitForURL(/\/articles\/\d+$/);
  const articleUrl = a.url();
  out.article = Number(articleUrl.split("/").pop());
  check((await a.locator("main > h1").innerText()).includes("Deploy runbook"), "the article opens");
  check((await a.locator(".article-body h1").innerText()) === "Deploys", "the markdown is rendered");
  await look(a, "article");

  // The article reaches beta; both open the edit page on the same revision, each on their
  // own node.
  await until(b, `${remoteCommunity}/articles`, "Deploy runbook", "the article on beta");
  await b.getByRole("link", { name: `Deploy runbook ${SUFFIX}` }).first().click();
  await b.waitForURL(/\/articles\/\d+$/);
  const replicaUrl = b.url();
  await go(a, `${articleUrl}/edit`);
  await go(b, `${replicaUrl}/edit`);
  await look(a, "article-edit");
  if (js) {
    await b.getByLabel("Text", { exact: true }).fill("**preview me**");
    await b.getByRole("button", { name: "Preview" }).click();
    await b.locator(".preview strong").waitFor();
    check((await b.locator(".preview strong").innerText()) === "preview me", "the preview renders markdown");
  }

  // Olga saves first.
  await a.getByLabel("Text", { exact: true }).fill(olgas);
  await a.getByRole("button", { name: "Save" }).click();
  await a.waitForURL(articleUrl);
  check((await a.content()).includes("run the test suite"), "olga's edit shows");

  // Bea's save from the same revision changes the same line: the conflict screen.
  await b.getByLabel("Text", { exact: true }).fill(beas);
  const [answer] = await Promise.all([
    b.waitForResponse((r) => r.url().endsWith("/edit") && r.request().method() === "POST"),
    b.getByRole("button", { name: "Save" }).click(),
  ]);
  await b.waitForLoadState();
  check(answer.status() === 409, `the conflict answers 409, not ${answer.status()}`);
  check((await b.locator("main > h1").innerText()).includes("conflicts"), "the conflict screen opens");
  check((await b.locator("pre.theirs").innerText()).includes("run the test suite"), "theirs is shown");
  check((await b.locator("pre.yours").innerText()).includes("test on staging"), "yours is shown");
  check((await b.getByLabel("Text", { exact: true }).inputValue()).includes("<<<<<<<"), "the text area holds the merge with markers");
  await look(b, "article-conflict");

  // Bea resolves it there.
  await b.getByLabel("Text", { exact: true }).fill(resolved);
  await b.getByRole("button", { name: "Save the resolved text" }).click();
  await b.waitForLoadState();
  await until(b, replicaUrl, "run the test suite on staging", "the resolution on beta");
  await until(a, articleUrl, "run the test suite on staging", "the resolution on alpha");

  // The history holds three revisions; compare the first with the newest.
  await until(b, `${replicaUrl}/history`, "#3", "the third revision on beta");
  check((await b.locator("table.history tbody tr").count()) === 3, "three revisions");
  await look(b, "article-history");
  await b.getByLabel("Compare from revision #1").check();
  await b.getByLabel("Compare to revision #3").check();
  await b.getByRole("button", { name: "Compare the chosen revisions" }).click();
  await b.waitForURL(/\/diff\?/);
  check((await b.locator("table.side td.line.removed").count()) > 0, "removed lines are marked");
  check((await b.locator("table.inline td.line.added").first().innerText()).includes("on staging"), "added lines are marked");
  await look(b, "article-diff");

  out.resolved = resolved;
  await run.finish();
} catch (e) {
  await run.finish(e);
}
