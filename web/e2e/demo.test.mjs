// End to end: the demo page served by a real authd, driven in headless Chromium.
// Run by scripts/test.sh (or `npm test` in web/) after `cargo build`; AUTHD_BIN names the
// binary (default ../target/debug/authd). On failure a screenshot is saved in e2e/artifacts/.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { launchChromium, screenshotOnFailure, startAuthd } from "./harness.mjs";

let server;
let baseUrl;
let browser;
let page;

before(async () => {
  ({ url: baseUrl, server } = await startAuthd());
  browser = await launchChromium();
  page = await browser.newPage();
});

afterEach((context) => screenshotOnFailure(context, page));

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

async function register(username, email, password) {
  await page.fill("#register-username", username);
  await page.fill("#register-email", email);
  await page.fill("#register-password", password);
  await page.click("#register button[type=submit]");
}

const status = () => page.locator("#status");

test("the page loads with labelled forms", async () => {
  await page.goto(baseUrl + "/");
  assert.equal(await page.title(), "authd — sign in");
  for (const label of ["Username", "Email", "Password"]) {
    assert.equal(await page.getByLabel(label, { exact: true }).first().isVisible(), true, label);
  }
});

test("the password hint names all four rules", async () => {
  const hint = await page.textContent("#register-password-hint");
  for (const rule of [/at least 8 characters/i, /not entirely numbers/i, /not a common password/i,
    /not too similar to your username or email/i]) {
    assert.match(hint, rule);
  }
});

test("sign up, then see a duplicate username refused next to the field", async () => {
  await register("alice", "alice@example.com", "correct-horse-battery");
  await status().filter({ hasText: "Account created for alice" }).waitFor();

  await register("ALICE", "other@example.com", "correct-horse-battery");
  const error = page.locator("#register-username-error");
  await error.filter({ hasText: "A user with that username already exists." }).waitFor();
  assert.equal(await page.getAttribute("#register-username", "aria-invalid"), "true");
});

test("weak passwords are explained next to the password field", async () => {
  await register("bob", "not-an-email", "12345");
  const password = page.locator("#register-password-error");
  await password.filter({ hasText: "This password is too short." }).waitFor();
  assert.match(await password.textContent(), /too common/);
  assert.match(await page.locator("#register-email-error").textContent(), /Enter a valid email address\./);
  assert.equal(await page.locator("#register-username-error").textContent(), "");
});

test("sign in, see me, refresh, sign out and see the old token refused", async () => {
  await page.fill("#login-username", "alice");
  await page.fill("#login-password", "correct-horse-battery");
  await page.click("#login button[type=submit]");
  await page.locator("#signed-in").waitFor({ state: "visible" });
  assert.equal(await page.locator("#signed-out").isVisible(), false, "the forms give way to the session");
  assert.equal(await page.textContent("#me-username"), "alice");
  assert.equal(await page.textContent("#me-email"), "alice@example.com");

  await page.click("#refresh");
  await status().filter({ hasText: "Tokens refreshed." }).waitFor();

  await page.click("#logout");
  await status().filter({ hasText: "Your old access token is no longer accepted." }).waitFor();
  assert.equal(await page.locator("#signed-in").isVisible(), false);
  assert.equal(await page.locator("#signed-out").isVisible(), true);
});

test("a wrong password says so without revealing whether the user exists", async () => {
  await page.fill("#login-username", "alice");
  await page.fill("#login-password", "wrong-password-here");
  await page.click("#login button[type=submit]");
  await status().filter({ hasText: "Wrong username or password." }).waitFor();
});
