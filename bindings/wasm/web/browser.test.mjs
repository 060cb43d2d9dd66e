// The demo page in a real headless Chromium, driven over the DevTools
// protocol by puppeteer-core: the first visit sets up three people and
// chats, a reload brings every account back from IndexedDB, the waiting
// message arrives, the group and the safety numbers are checked; a
// screenshot of the page after the reload is kept.
//
// Run by browser.sh: SITE (the page and the package), CHROMIUM (the
// browser), PUPPETEER_DIR (where puppeteer-core is installed) and SHOTS
// (where the screenshot goes).

import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

const { SITE, CHROMIUM, PUPPETEER_DIR, SHOTS } = process.env;
if (!SITE || !CHROMIUM || !PUPPETEER_DIR || !SHOTS) throw new Error("run through browser.sh");
const puppeteer = createRequire(`${PUPPETEER_DIR}/`)("puppeteer-core");

/** How long the page may take for one visit, in milliseconds. */
const VISIT_TIMEOUT_MS = 60_000;
const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".css": "text/css",
};

/** A static server for SITE on loopback: no network program beyond it. */
function serve() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (path.includes("..")) {
      res.writeHead(400).end();
      return;
    }
    try {
      const body = await readFile(join(SITE, path === "/" ? "index.html" : path));
      res.writeHead(200, { "content-type": TYPES[extname(path)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

async function visit(page, load) {
  await load();
  await page.waitForSelector("#status[data-done]", { timeout: VISIT_TIMEOUT_MS });
  return page.$eval("#status", (s) => ({ phase: s.dataset.phase, text: s.textContent }));
}

test("the demo page survives a reload in headless Chromium", async () => {
  const server = await serve();
  const url = `http://127.0.0.1:${server.address().port}/index.html`;
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: mkdtempSync(join(tmpdir(), "kinseal-chromium-")),
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
  });
  const errors = [];
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    await page.setViewport({ width: 1100, height: 800 });

    const first = await visit(page, () => page.goto(url));
    assert.equal(first.phase, "first", first.text);
    const reloaded = await visit(page, () => page.reload());
    assert.equal(reloaded.phase, "reloaded", reloaded.text);
    assert.match(reloaded.text, /^PASS/);
    const logs = await page.$$eval(".person ol", (ols) => ols.map((o) => o.textContent));
    assert.match(logs[0], /Are you still there after the reload\?/);
    assert.match(logs[1], /Yes! Reloaded and still here/);
    assert.match(logs[2], /Group still works after the reload/);
    await page.screenshot({ path: join(SHOTS, "demo.png"), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});
