// End to end: what a signed-in user does on the demo page — sign in by email, see and end
// their sessions, sign out everywhere, change their password — with buttons that show a
// call in flight, and an access token that renews itself. Real authd, headless Chromium.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { launchChromium, screenshotOnFailure, startAuthd } from "./harness.mjs";

const PASSWORD = "correct-horse-battery";
const servers = [];
let baseUrl;
let browser;
let page;

before(async () => {
  const started = await startAuthd();
  servers.push(started.server);
  baseUrl = started.url;
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(baseUrl + "/");
});

afterEach((context) => screenshotOnFailure(context, page));

after(async () => {
  await browser?.close();
  for (const server of servers) server.kill("SIGTERM");
});

const status = (on = page) => on.locator("#status");

async function register(on, username) {
  await on.fill("#register-username", username);
  await on.fill("#register-email", `${username}@example.com`);
  await on.fill("#register-password", PASSWORD);
  await on.click("#register button[type=submit]");
  await status(on).filter({ hasText: `Account created for ${username}` }).waitFor();
}

async function signIn(on, username, password = PASSWORD) {
  await on.check("#login input[name=by][value=username]");
  await on.fill("#login-username", username);
  await on.fill("#login-password", password);
  await on.click("#login button[type=submit]");
  await on.locator("#signed-in").waitFor({ state: "visible" });
}

/** Counts the grpc-web calls of `rpc` the page makes from now on. */
function countCalls(on, rpc) {
  const counter = { calls: 0 };
  on.on("request", (request) => {
    if (request.url().endsWith(`/auth.v1.AuthService/${rpc}`)) counter.calls += 1;
  });
  return counter;
}

/** A second device: its own browser context (no shared memory or cookies) on the page. */
async function secondDevice() {
  const context = await browser.newContext({ userAgent: "Mozilla/5.0 (Android 14) Firefox/128.0" });
  const other = await context.newPage();
  await other.goto(baseUrl + "/");
  return other;
}

test("sign in by email", async () => {
  await register(page, "carol");
  await page.check("#login input[name=by][value=email]");
  assert.equal(await page.locator("#login-username").isVisible(), false);
  await page.fill("#login-email", "CAROL@example.com");
  await page.fill("#login-password", PASSWORD);
  await page.click("#login button[type=submit]");
  await status().filter({ hasText: "Signed in as carol." }).waitFor();
  assert.equal(await page.textContent("#me-username"), "carol");
  await page.click("#logout");
  await status().filter({ hasText: "no longer accepted" }).waitFor();

  await page.check("#login input[name=by][value=email]");
  await page.fill("#login-email", "nobody@example.com");
  await page.fill("#login-password", PASSWORD);
  await page.click("#login button[type=submit]");
  await status().filter({ hasText: "Wrong email or password." }).waitFor();
});

test("a button shows its call in flight, and a double click sends one call", async () => {
  const logins = countCalls(page, "Login");
  // Hold the answer back long enough to see the button while it waits.
  await page.route("**/auth.v1.AuthService/Login", async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 600));
    await route.continue();
  });
  await page.check("#login input[name=by][value=username]");
  await page.fill("#login-username", "carol");
  await page.fill("#login-password", PASSWORD);
  await page.dblclick("#login button[type=submit]");
  const button = page.locator("#login button[type=submit]");
  assert.equal(await button.getAttribute("aria-busy"), "true");
  assert.equal(await button.textContent(), "Signing in…");
  assert.equal(await button.isDisabled(), true);
  await page.locator("#signed-in").waitFor({ state: "visible" });
  await page.unroute("**/auth.v1.AuthService/Login");
  assert.equal(logins.calls, 1);
  assert.equal(await page.locator("#sessions li").count(), 1, "one login, one session");
  assert.equal(await button.getAttribute("aria-busy"), null);
  assert.equal(await button.textContent(), "Sign in");
});

test("the sessions panel marks this device, ends another one and signs out everywhere", async () => {
  const phone = await secondDevice();
  await signIn(phone, "carol");
  await page.click("#reload-sessions");
  const items = page.locator("#sessions li");
  await page.waitForFunction(() => document.querySelectorAll("#sessions li").length === 2);
  const current = page.locator("#sessions li.current");
  assert.equal(await current.count(), 1);
  assert.match(await current.textContent(), /This device/);
  assert.match(await current.textContent(), /Chrome on Linux/);
  const other = items.filter({ hasText: "Firefox on Android" });
  assert.match(await other.textContent(), /127\.0\.0\.1/);

  await other.locator("button.revoke").click();
  await status().filter({ hasText: "That session is signed out." }).waitFor();
  assert.equal(await items.count(), 1);
  // The phone finds out on its next call.
  await phone.click("#refresh");
  await status(phone).filter({ hasText: "Your session has ended" }).waitFor();
  assert.equal(await phone.locator("#signed-out").isVisible(), true);

  await signIn(phone, "carol");
  await page.click("#revoke-all");
  await status().filter({ hasText: "Signed out everywhere: 2 sessions ended." }).waitFor();
  assert.equal(await page.locator("#signed-out").isVisible(), true);
  await phone.click("#reload-sessions");
  await status(phone).filter({ hasText: "Your session has ended" }).waitFor();
  await phone.context().close();
});

test("change password: errors next to the fields, then the other devices are signed out", async () => {
  await signIn(page, "carol");
  const phone = await secondDevice();
  await signIn(phone, "carol");

  await page.fill("#change-password-current_password", "not-my-password");
  await page.fill("#change-password-new_password", "a-new-long-secret");
  await page.click("#change-password button[type=submit]");
  await page.locator("#change-password-current_password-error")
    .filter({ hasText: "Your old password was entered incorrectly." }).waitFor();
  assert.equal(await page.getAttribute("#change-password-current_password", "aria-invalid"), "true");

  await page.fill("#change-password-current_password", PASSWORD);
  await page.fill("#change-password-new_password", "12345678");
  await page.click("#change-password button[type=submit]");
  await page.locator("#change-password-new_password-error")
    .filter({ hasText: "This password is too common." }).waitFor();
  assert.equal(await page.textContent("#change-password-current_password-error"), "");

  await page.fill("#change-password-new_password", "a-new-long-secret");
  await page.click("#change-password button[type=submit]");
  await status().filter({ hasText: "Password changed. 1 other session was signed out." }).waitFor();
  assert.equal(await page.locator("#sessions li").count(), 1);
  await phone.click("#reload-sessions");
  await status(phone).filter({ hasText: "Your session has ended" }).waitFor();

  await signIn(phone, "carol", "a-new-long-secret");
  await phone.context().close();
  await page.click("#logout");
  await status().filter({ hasText: "no longer accepted" }).waitFor();
});

test("the access token renews itself before it expires", async () => {
  const started = await startAuthd(["--access-token-lifetime", "3s"]);
  servers.push(started.server);
  const context = await browser.newContext();
  const tab = await context.newPage();
  const refreshes = countCalls(tab, "Refresh");
  await tab.goto(started.url + "/");
  await register(tab, "dave");
  await signIn(tab, "dave");
  const first = await tab.textContent("#me-expires");
  await tab.waitForFunction(
    (before) => document.getElementById("me-expires")?.textContent !== before,
    first,
    { timeout: 15_000 },
  );
  assert.ok(refreshes.calls >= 1);
  // Well past the first token's life, the page is still signed in and its calls work.
  await tab.waitForTimeout(3_500);
  await tab.click("#reload-sessions");
  await tab.locator("#reload-sessions:not([aria-busy])").waitFor();
  assert.equal(await tab.locator("#signed-in").isVisible(), true);
  assert.equal(await tab.locator("#sessions li").count(), 1);
  assert.doesNotMatch((await status(tab).getAttribute("class")) ?? "", /error/);
  await context.close();
});
