// Roundtable's web UI in a real browser: Debian's chromium driven by playwright-core, with
// axe-core checking every page type. Two nodes: ALPHA hosts the community, BETA is where
// its second member lives. Run once with JavaScript and once without (JS=on|off); the
// same forms must work both ways. Prints one JSON object (what the Rust test checks
// against the databases) as its last line.
import { start, check } from "./roundtable-browser.mjs";

const { ALPHA, BETA, ALPHA_DOMAIN, SHOTS, JS, SUFFIX } = process.env;
const js = JS !== "off";
const tag = js ? "js" : "nojs";
const olga = `olga${SUFFIX}`;
const bea = `bea${SUFFIX}`;
const slug = `guild${SUFFIX}`;
const password = "correct horse battery staple";
const run = await start({ js, shots: SHOTS, seconds: 300 });
const { out, look, go, until, context } = run;


async function signUp(page, base, name) {
  await go(page, `${base}/sign-up`);
  await look(page, "sign-up");
  await page.getByLabel("Email address").fill(`${name}@example.org`);
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Create my account" }).click();
  await go(page, `${base}/sign-in`);
  await look(page, "sign-in");
  await page.getByLabel("User name or email address").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForLoadState();
  check((await page.locator("nav[aria-label=Account]").innerText()).includes(name), `${name} is signed in`);
}

// Reloads `url` until `text` is on it (replication between the nodes is asynchronous).

try {
  const a = await (await context()).newPage();
  const b = await (await context()).newPage();

  // A visitor's home page.
  await go(a, `${ALPHA}/`);
  await look(a, "home-visitor");

  // Olga signs up on alpha and starts the community.
  await signUp(a, ALPHA, olga);
  await go(a, `${ALPHA}/communities/new`);
  await look(a, "community-new");
  // Bad input: a handle with spaces is refused beside its field, not with a 500.
  await a.getByLabel("Handle").fill("not a handle");
  await a.getByRole("button", { name: "Create the community" }).click();
  check(await a.locator("#field-slug-error").isVisible(), "the bad handle's error sits beside the field");
  check(await a.locator("#field-slug").getAttribute("aria-invalid") === "true", "the bad handle is marked invalid");
  await a.getByLabel("Handle").fill(slug);
  await a.getByLabel("Name").fill(`Guild ${tag}`);
  await a.getByLabel("What it is about").fill("Platform engineering across **organizations**.");
  await a.getByRole("button", { name: "Create the community" }).click();
  await a.waitForURL(`**/communities/${slug}`);
  await look(a, "community-empty");
  check((await a.content()).includes("No threads yet"), "an empty community says what to do next");

  // Bea signs up on beta, finds the community on alpha by its handle and joins it.
  await signUp(b, BETA, bea);
  await go(b, `${BETA}/`);
  await look(b, "home-member");
  await go(b, `${BETA}/communities`);
  await look(b, "directory");
  await b.getByLabel("Its handle or address").fill(`nobody-here@${ALPHA_DOMAIN}`);
  await b.getByRole("button", { name: "Open" }).click();
  check(await b.locator("#field-handle-error").isVisible(), "an unknown handle is explained beside the field");
  await b.getByLabel("Its handle or address").fill(`${slug}@${ALPHA_DOMAIN}`);
  await b.getByRole("button", { name: "Open" }).click();
  await b.waitForURL(/\/communities\/guild/);
  const remoteCommunity = b.url();
  await b.getByRole("button", { name: "Join" }).click();
  await until(b, remoteCommunity, "You are a member", "bea's membership to be accepted");

  // An empty thread title is refused beside the field.
  await b.getByLabel("Text").fill("Forgot the title");
  await b.getByRole("button", { name: "Post the thread" }).click();
  check(await b.locator("#thread-title-error").isVisible(), "a missing title is explained beside the field");
  check((await b.getByLabel("Text").inputValue()) === "Forgot the title", "the typed text is kept");

  // Bea starts a thread from beta.
  const title = `Which CI do your teams run? (${tag})`;
  await b.getByLabel("Title").fill(title);
  await b.getByLabel("Text").fill("We run **Buildkite**; curious what others chose.");
  if (js) {
    await b.getByRole("button", { name: "Preview" }).first().click();
    await b.locator(".preview strong").first().waitFor();
    check((await b.locator(".preview strong").first().innerText()) === "Buildkite", "the preview renders markdown");
  }
  await b.getByRole("button", { name: "Post the thread" }).click();
  await b.waitForURL(/\/threads\/\d+$/);
  const beaThread = b.url();
  check((await b.locator("h1").innerText()).includes(title), "the new thread opens");
  await look(b, "thread");

  // Olga sees it arrive on alpha, replies and likes it.
  await until(a, `${ALPHA}/communities/${slug}`, title, "bea's thread on alpha");
  await look(a, "community");
  await a.getByRole("link", { name: title }).click();
  await a.waitForURL(/\/threads\/\d+$/);
  const olgaThread = a.url();
  await a.getByRole("button", { name: /^Like/ }).first().click();
  await a.waitForURL(/\/threads\/\d+/);
  check((await a.locator(".post").first().getByRole("button", { name: /^Liked/ }).count()) === 1, "olga's like shows");
  // The moderator sees "Moderate" too; the reply composer is the one named "Reply".
  await a.locator("details.compose summary").filter({ hasText: /^Reply/ }).first().click();
  await a.getByLabel("Your reply").first().fill("GitHub Actions, with self-hosted runners.");
  await a.getByRole("button", { name: "Send the reply" }).first().click();
  await a.waitForURL(/#r\d+$/);
  check((await a.content()).includes("self-hosted runners"), "olga's reply shows");

  // Bea sees the reply on beta and answers it, nested under it.
  await until(b, beaThread, "self-hosted runners", "olga's reply on beta");
  const olgaReply = b.locator("article.reply").filter({ hasText: "self-hosted runners" });
  await olgaReply.locator("summary").filter({ hasText: "Reply" }).click();
  await olgaReply.getByLabel("Your reply").fill("How do you keep the runners patched?");
  await olgaReply.getByRole("button", { name: "Send the reply" }).click();
  await b.waitForURL(/#r\d+$/);
  check((await b.locator("article.depth-2").filter({ hasText: "keep the runners patched" }).count()) === 1,
        "bea's answer nests under olga's reply");
  // An empty reply is refused beside its field.
  await b.locator("article.post").first().locator("summary").filter({ hasText: "Reply" }).click();
  await b.locator("article.post").first().getByRole("button", { name: "Send the reply" }).click();
  check(await b.locator("p.error").first().isVisible(), "an empty reply is explained beside the field");

  // Bea edits her thread.
  await go(b, beaThread);
  await b.getByRole("link", { name: "Edit" }).first().click();
  await look(b, "post-edit");
  await b.getByLabel("Text").fill("We run **Buildkite** and some Jenkins; curious what others chose.");
  await b.getByRole("button", { name: "Save" }).click();
  await b.waitForURL(/\/threads\/\d+/);
  check((await b.content()).includes("some Jenkins"), "the edit shows");

  // Profiles and the member's view of the community.
  await go(a, `${ALPHA}/people/${olga}`);
  await look(a, "person");
  await until(a, olgaThread, "keep the runners patched", "bea's nested answer on alpha");

  // Search on beta finds the thread by a word of its text, highlighted.
  await go(b, `${BETA}/search?q=Jenkins`);
  await look(b, "search");
  check((await b.locator("mark").first().innerText()).toLowerCase() === "jenkins", "the match is highlighted");
  await b.locator("ul.list a.title-link").first().click();
  await b.waitForURL(/\/threads\/\d+/);
  check((await b.locator("h1").innerText()).includes(title), "the search result opens the thread");

  // Events: olga schedules one with a single seat and takes it; carl, a member on alpha,
  // answers into the full event, sees his waitlist position, and gets the seat when olga
  // gives it up.
  const carl = `carl${SUFFIX}`;
  await go(a, `${ALPHA}/communities/${slug}`);
  await a.getByRole("link", { name: "schedule one" }).click();
  await look(a, "event-new");
  await a.getByLabel("Title").fill(`Runner patching clinic (${tag})`);
  await a.getByLabel("Starts").fill("2030-05-02T15:00");
  await a.getByLabel("Ends").fill("2030-05-02T14:00");
  await a.getByLabel("Time zone").fill("Europe/Berlin");
  await a.getByLabel("Seats (optional)").fill("1");
  await a.getByRole("button", { name: "Schedule it" }).click();
  check(await a.locator("#field-ends_at-error").isVisible(), "an end before the start is explained beside the field");
  await a.getByLabel("Ends").fill("2030-05-02T17:00");
  await a.getByRole("button", { name: "Schedule it" }).click();
  await a.waitForURL(/\/events\/\d+$/);
  const eventUrl = a.url();
  check((await a.content()).includes("Thu 2 May 2030, 15:00 (Europe/Berlin)"), "the time shows in the event's zone");
  await a.getByRole("button", { name: "I'm going" }).click();
  await a.waitForURL(/\/events\/\d+$/);
  check((await a.content()).includes("You are going"), "olga has the seat");
  await look(a, "event");

  const c = await (await context()).newPage();
  await signUp(c, ALPHA, carl);
  await go(c, `${ALPHA}/communities/${slug}`);
  await c.getByRole("button", { name: "Join" }).click();
  await c.waitForURL(/\/communities\//);
  await go(c, eventUrl);
  check((await c.content()).includes("0 left"), "the event is full");
  await c.getByRole("button", { name: "Join the waitlist" }).click();
  await c.waitForURL(/\/events\/\d+$/);
  check((await c.locator("#waitlist-position").innerText()).includes("number 1"), "carl sees his waitlist position");
  await look(c, "event-waitlisted");
  await go(a, eventUrl);
  check((await a.locator("table").innerText()).includes(carl), "the organizer sees carl among the participants");
  await a.getByRole("button", { name: "I can't go any more" }).click();
  await a.waitForURL(/\/events\/\d+$/);
  await go(c, eventUrl);
  check((await c.content()).includes("You are going"), "carl is promoted when olga leaves");
  out.eventUrl = eventUrl;

  // Bea's notifications name olga's reply and like; her settings page.
  await go(b, `${BETA}/notifications`);
  await look(b, "notifications");
  check((await b.locator("main").innerText()).includes(olga), "the notifications name who answered");
  await go(b, `${BETA}/settings`);
  await look(b, "settings");

  // An app asks bea for access: the consent page, and the code it shows to copy.
  const registered = await b.request.post(`${BETA}/api/v1/apps`, {
    form: { client_name: "Pocket reader", redirect_uris: "urn:ietf:wg:oauth:2.0:oob", scopes: "read write" },
  });
  check(registered.ok(), "the app is registered");
  const app = await registered.json();
  await go(b, `${BETA}/oauth/authorize?response_type=code&scope=read&redirect_uri=urn:ietf:wg:oauth:2.0:oob` +
              `&client_id=${encodeURIComponent(app.client_id)}`);
  check((await b.locator("main").innerText()).includes("Pocket reader"), "the consent page names the app");
  await look(b, "consent");
  await b.getByRole("button", { name: "Authorize Pocket reader" }).click();
  await b.waitForLoadState();
  await look(b, "oauth-code");
  const exchanged = await b.request.post(`${BETA}/oauth/token`, {
    form: { grant_type: "authorization_code", code: await b.getByLabel("Authorization code").inputValue(),
            client_id: app.client_id, client_secret: app.client_secret,
            redirect_uri: "urn:ietf:wg:oauth:2.0:oob" },
  });
  check(exchanged.ok(), "the code is exchanged for a token");
  await go(b, `${BETA}/authorized-apps`);
  check((await b.locator("main").innerText()).includes("Pocket reader"), "the app is listed as authorized");

  // The community's settings page, for its owner.
  await go(a, `${ALPHA}/communities/${slug}/settings`);
  await look(a, "community-settings");

  // Articles of the community: the list and a new article.
  await go(a, `${ALPHA}/communities/${slug}/articles`);
  await look(a, "articles");
  await go(a, `${ALPHA}/communities/${slug}/articles/new`);
  await look(a, "article-new");
  // Reporting a post, and signing out.
  await go(a, olgaThread);
  await a.getByRole("link", { name: /^Report/ }).first().click();
  await look(a, "report");
  await go(b, `${BETA}/sign-out`);
  await look(b, "sign-out");

  // The remaining page types: account pages, a confirmation, and a not-found page.
  await go(b, `${BETA}/sessions`);
  await look(b, "sessions");
  await go(b, `${BETA}/authorized-apps`);
  await look(b, "authorized-apps");
  await go(b, beaThread);
  await b.getByRole("link", { name: "Delete" }).first().click();
  await look(b, "post-delete");
  const missing = await b.goto(`${BETA}/threads/999999999`);
  check(missing.status() === 404, "an unknown thread is a 404 page");
  await look(b, "not-found");
  const visitor = await (await context()).newPage();
  await go(visitor, `${ALPHA}/forgot-password`);
  await look(visitor, "forgot-password");

  out.alphaThreadUrl = olgaThread;
  out.betaThreadUrl = beaThread;
  out.title = title;
  await run.finish();
} catch (e) {
  await run.finish(e);
}
