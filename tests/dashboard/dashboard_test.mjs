// tests/dashboard/dashboard_test.mjs -- the dashboard in headless chromium (run by run.sh).
//
// Env: TROUPE_URL (the page), TROUPE_TOKEN (server.auth_token), TROUPE_CHROMIUM,
// TROUPE_SCREENSHOT.  Steps, each with a bounded wait:
//   1. the page loads and draws arb_btc_001's DAG from /api/workflows/{id}/plan;
//   2. the token is typed; the WebSocket connects and a real (scheduled) execution
//      lights price_binance up as completed, with event rows in the table;
//   3. Halt is clicked, the prompt answered with a reason: GET /api/emergency says
//      halt and the page's badge shows it;
//   4. no page error, and no request left the troupe server (no CDN).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.env.TROUPE_URL, token = process.env.TROUPE_TOKEN;
const exe = process.env.TROUPE_CHROMIUM || "/usr/bin/chromium";
const shot = process.env.TROUPE_SCREENSHOT || "dashboard.png";
const origin = new URL(url).origin, wsOrigin = origin.replace(/^http/, "ws");
const profile = mkdtempSync(join(tmpdir(), "troupe-dash-"));
const problems = [];
let ctx;

function step(msg) { console.log("-- " + msg); }
async function emergency() {
  const r = await fetch(origin + "/api/emergency");
  return r.json();
}

try {
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: exe,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: 30000,
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.setDefaultTimeout(30000);
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error" && !/WebSocket|401/.test(m.text())) problems.push("console: " + m.text()); });
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith(wsOrigin) && !u.startsWith("data:"))
      problems.push("external request: " + u);
  });

  step("load " + url);
  const resp = await page.goto(url, { waitUntil: "load" });
  if (resp.status() !== 200) throw new Error("GET / -> " + resp.status());
  const ctype = resp.headers()["content-type"] || "";
  if (!ctype.startsWith("text/html")) throw new Error("GET / content-type: " + ctype);
  const wf = '[data-wf="arb_btc_001"]';
  await page.waitForSelector(`${wf} g.node[data-node="price_binance"]`);
  await page.waitForSelector(`${wf} g.node[data-node="buy"]`);

  step("type the token and connect");
  await page.fill("#token", token);
  await page.press("#token", "Enter");
  await page.waitForSelector("#ws-status.up");

  step("wait for a real execution to light the DAG up");
  await page.waitForSelector(`${wf} g.node[data-node="price_binance"][data-state="completed"]`);
  await page.waitForSelector('#events tbody tr[data-type="node_completed"]');
  await page.waitForSelector('#events tbody tr[data-type="execution_completed"], #events tbody tr[data-type="execution_failed"]');
  await page.waitForSelector('#metrics .bot[data-bot="bot_001"]');
  const before = await emergency();
  if (before.state !== "normal") throw new Error("emergency not normal at start: " + JSON.stringify(before));
  await page.waitForSelector('#em-state[data-state="normal"]');

  step("click Halt, answer the prompt");
  let prompted = "";
  page.once("dialog", async (d) => { prompted = d.type(); await d.accept("browser test halt"); });
  await page.click("#halt-btn");
  let st = null;
  for (let i = 0; i < 100; i++) {
    st = await emergency();
    if (st.state === "halt") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (prompted !== "prompt") throw new Error("no prompt dialog (got '" + prompted + "')");
  if (!st || st.state !== "halt") throw new Error("host not halted: " + JSON.stringify(st));
  if (st.halt_reason !== "browser test halt") throw new Error("halt_reason: " + st.halt_reason);
  await page.waitForSelector('#em-state[data-state="halt"]');
  await page.waitForFunction(() => document.getElementById("em-halt-reason").textContent === "browser test halt");
  await page.waitForSelector('#events tbody tr[data-type="emergency_state_changed"]');
  await page.waitForTimeout(1500); // a scheduled run meets the halt: execution_halted
  await page.screenshot({ path: shot, fullPage: true });
  step("screenshot " + shot);
  if (problems.length) throw new Error(problems.join("\n"));
  console.log("ok: page loaded, events rendered, halt button halted the host");
} catch (e) {
  console.error("FAIL: " + (e && e.stack || e));
  if (problems.length) console.error(problems.join("\n"));
  if (ctx) {
    const p = ctx.pages()[0];
    if (p) await p.screenshot({ path: shot, fullPage: true }).catch(() => {});
  }
  process.exitCode = 1;
} finally {
  if (ctx) await ctx.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
