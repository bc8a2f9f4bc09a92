// What every browser test needs: a real authd on a free port over a fresh SQLite file, and
// headless Chromium. AUTHD_BIN names the binary (default ../target/debug/authd).
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const here = new URL(".", import.meta.url).pathname;
const binary = process.env.AUTHD_BIN ?? resolve(here, "../../target/debug/authd");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const artifacts = join(here, "artifacts");

/**
 * Starts authd with `extraArgs`; resolves with `{ url, server }` once authd has written its
 * address to the file `--address-file` names.
 */
export function startAuthd(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), "authd-e2e-"));
  const addressFile = join(dir, "address");
  const args = ["--listen", "127.0.0.1:0", "--database-url", `sqlite://${dir}/authd.db`];
  const server = spawn(binary, [...args, "--address-file", addressFile, ...extraArgs], {
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
        resolvePromise({ url: `http://${address}`, server });
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

export function launchChromium() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/** Keeps what `page` looked like when the test of `context` failed. */
export async function screenshotOnFailure(context, page) {
  if (context.passed === false || context.error) {
    mkdirSync(artifacts, { recursive: true });
    const file = join(artifacts, `${context.name.replace(/\W+/g, "-")}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.error(`screenshot of the failure: ${file}`);
  }
}
