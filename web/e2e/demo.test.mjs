// End to end: the demo page served by a real authd, driven in headless Chromium.
// Run by scripts/test.sh (or `npm test` in web/) after `cargo build`; AUTHD_BIN names the
// binary (default ../target/debug/authd). On failure a screenshot is saved in e2e/artifacts/.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const here = new URL(".", import.meta.url).pathname;
const binary = process.env.AUTHD_BIN ?? resolve(here, "../../target/debug/authd");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const artifacts = join(here, "artifacts");

let server;
let baseUrl;
let browser;
let page;

/**
 * Starts authd on a free port over a fresh SQLite file; resolves with its URL once authd
 * has written its address to the file `--address-file` names.
 */
function startAuthd() {
  const dir = mkdtempSync(join(tmpdir(), "authd-e2e-"));
  const addressFile = join(dir, "address");
  const args = ["--listen", "127.0.0.1:0", "--database-url", `sqlite://${dir}/authd.db`];
  server = spawn(binary, [...args, "--address-file", addressFile], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, AUTHD_LOG: "info" },
  });
  return new Promise((resolvePromise, reject) => {
    let log = "";
    server.stderr.on("data", (chunk) => {
      log += chunk;
    });
    const started = Date.now();
    const poll = setInterval(() => {
      let address = "";
      try {
        address = readFileSync(addressFile, "utf8").trim();
      } catch {
        // Not written yet: authd writes it whole once it listens.
      }
      if (address) {
        clearInterval(poll);
        resolvePromise(`http://${address}`);
      } else if (Date.now() - started > 30_000) {
        clearInterval(poll);
        reject(new Error(`authd did not start:\n${log}`));
      }
    }, 20);
    server.on("exit", (code) => {
      clearInterval(poll);
      reject(new Error(`authd exited (${code}):\n${log}`));
    });
  });
}

before(async () => {
  baseUrl = await startAuthd();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  page = await browser.newPage();
});

afterEach(async (context) => {
  // Keep what the page looked like when a test failed.
  if (context.passed === false || context.error) {
    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, `${context.name.replace(/\W+/g, "-")}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.error(`screenshot of the failure: ${file}`);
  }
});

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
