// bench/node/load.mjs -- a load generator for troupe's fan-out (/ws and Socket.IO).
//
//   node bench/node/load.mjs --url http://127.0.0.1:PORT [--proto ws|sio]
//        [--clients 100] [--rate 1000|max] [--seconds 3] [--token T]
//        [--pid SERVER_PID] [--room bench] [--json]
//
// Opens N subscriber clients in room workflow:<room> (the `ws` package on
// /ws, or socket.io-client with transports: ['websocket']) and one publisher
// client of the same protocol that sends `publish` of a node_completed-shaped
// event carrying `sent_ns` (process.hrtime.bigint(), as a string) at the
// paced rate (or as fast as the client can: --rate max).  Everything runs in
// this one Node process, so `sent_ns` and the receive time share a clock.
//
// Reports: published events and rate, delivered events (sum over clients)
// and events/s, p50/p99/max publish-to-receive latency, drops (seq gaps seen
// by the subscribers, `dropped` markers, and events never delivered within
// the drain time), the server's CPU (utime+stime from /proc/PID/stat over
// the run) and RSS (VmRSS/VmHWM from /proc/PID/status) when --pid is given,
// and this process's own CPU: near 100 % means the Node client, not the
// server, is the bottleneck.  Exit 0 when the run completed (drops are
// reported, not an error), 1 on a connection or protocol failure, 2 on
// bad usage.
import fs from 'node:fs';
import { io } from 'socket.io-client';
import WebSocket from 'ws';

function usage(msg) {
  if (msg) console.error(`load.mjs: ${msg}`);
  console.error('usage: node load.mjs --url http://HOST:PORT [--proto ws|sio] [--clients N] ' +
    '[--rate R|max] [--seconds S] [--token T] [--pid PID] [--room ID] [--json]');
  process.exit(2);
}

const opt = { url: null, proto: 'ws', clients: 100, rate: 1000, seconds: 3, token: '', pid: 0,
  room: 'bench', json: false };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i];
    const v = () => { if (i + 1 >= a.length) usage(`${k} needs a value`); return a[++i]; };
    if (k === '--url') opt.url = v();
    else if (k === '--proto') opt.proto = v();
    else if (k === '--clients') opt.clients = Number(v());
    else if (k === '--rate') { const r = v(); opt.rate = r === 'max' ? 'max' : Number(r); }
    else if (k === '--seconds') opt.seconds = Number(v());
    else if (k === '--token') opt.token = v();
    else if (k === '--pid') opt.pid = Number(v());
    else if (k === '--room') opt.room = v();
    else if (k === '--json') opt.json = true;
    else if (k === '-h' || k === '--help') usage();
    else usage(`unknown argument ${k}`);
  }
  if (!opt.url) usage('--url is required');
  if (opt.proto !== 'ws' && opt.proto !== 'sio') usage('--proto is ws or sio');
  if (!(Number.isInteger(opt.clients) && opt.clients >= 1)) usage('--clients must be >= 1');
  if (opt.rate !== 'max' && !(opt.rate > 0)) usage('--rate must be > 0 or max');
  if (!(opt.seconds > 0)) usage('--seconds must be > 0');
}

const fail = (msg) => { console.error(`load.mjs: FAIL: ${msg}`); process.exit(1); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function withTimeout(p, ms, what) {
  let t;
  const timer = new Promise(() => { t = setTimeout(() => fail(`${what}: no answer in ${ms} ms`), ms); });
  try { return await Promise.race([p, timer]); } finally { clearTimeout(t); }
}
const now = () => process.hrtime.bigint();
const wsBase = opt.url.replace(/^http/, 'ws').replace(/\/$/, '');
const tok = opt.token ? `?token=${encodeURIComponent(opt.token)}` : '';

// ---- server /proc sampling
const CLK_TCK = 100; // Linux USER_HZ
function serverCpuTicks() {
  if (!opt.pid) return null;
  try {
    const s = fs.readFileSync(`/proc/${opt.pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return Number(f[11]) + Number(f[12]); // utime (14) + stime (15)
  } catch { return null; }
}
function serverMem() {
  if (!opt.pid) return null;
  try {
    const s = fs.readFileSync(`/proc/${opt.pid}/status`, 'utf8');
    const kb = (k) => { const m = s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')); return m ? Number(m[1]) : null; };
    return { rss_kb: kb('VmRSS'), hwm_kb: kb('VmHWM') };
  } catch { return null; }
}

// ---- subscribers
const lat = []; // publish-to-receive, microseconds
const subs = [];
let delivered = 0;
let lastRecv = 0n;
let pubClosed = null; // set when the server closed the publisher during the run

function onEvent(sub, ev) {
  const t = now();
  if (ev.type !== 'node_completed' || ev.sent_ns === undefined) return;
  delivered++;
  lastRecv = t;
  lat.push(Number(t - BigInt(ev.sent_ns)) / 1000);
  sub.count++;
  if (ev.seq > sub.last + 1) sub.gaps += ev.seq - sub.last - 1;
  if (ev.seq <= sub.last) sub.reorders++;
  sub.last = ev.seq;
}

function openWs(sub) {
  return new Promise((resolve) => {
    const c = new WebSocket(`${wsBase}/ws${tok}`);
    sub.close = () => c.terminate();
    c.on('error', (e) => fail(`ws client: ${e.message}`));
    c.on('open', () => c.send(JSON.stringify({ op: 'subscribe', workflow_id: opt.room })));
    c.on('message', (m) => {
      const f = JSON.parse(m.toString());
      if (f.event === 'workflow_event') onEvent(sub, f.data);
      else if (f.event === 'dropped') sub.dropped += f.data.to_seq - f.data.from_seq + 1;
      else if (f.event === 'subscribed') { sub.base = sub.last = f.data.seq; resolve(); }
      else if (f.event === 'error') fail(`ws error answer: ${JSON.stringify(f.data)}`);
    });
    c.on('close', (code) => { if (!sub.closing) fail(`ws subscriber closed (${code})`); });
  });
}

function sioClient() {
  return io(opt.url, { transports: ['websocket'], auth: { token: opt.token },
    reconnection: false, timeout: 10000 });
}

async function openSio(sub) {
  const s = sioClient();
  sub.close = () => s.close();
  await new Promise((resolve) => {
    s.on('connect', resolve);
    s.on('connect_error', (e) => fail(`socket.io connect_error: ${e.message}`));
  });
  s.on('disconnect', (why) => { if (!sub.closing) fail(`socket.io subscriber: ${why}`); });
  s.on('workflow_event', (ev) => onEvent(sub, ev));
  s.on('dropped', (d) => { sub.dropped += d.to_seq - d.from_seq + 1; });
  const ack = await s.emitWithAck('subscribe_workflow', { workflow_id: opt.room });
  if (!ack || ack.ok !== true) fail(`subscribe ack: ${JSON.stringify(ack)}`);
  sub.base = sub.last = ack.seq;
}

// ---- publisher
async function openPublisher() {
  const event = (i) => ({
    type: 'node_completed', execution_id: `exec_${opt.room}_bench0001`, workflow_id: opt.room,
    bot_id: 'bench_bot', strategy_id: 'bench_strategy', timestamp: new Date().toISOString(),
    node_id: 'n1', node_name: 'bench node', node_category: 'bench', duration_ms: 0.1,
    status: 'completed', attempt: 1, outputs: { i }, sent_ns: String(now()),
  });
  if (opt.proto === 'ws') {
    const c = new WebSocket(`${wsBase}/ws${tok}`);
    await new Promise((resolve) => { c.on('open', resolve); c.on('error', (e) => fail(`publisher: ${e.message}`)); });
    c.on('message', (m) => {
      const f = JSON.parse(m.toString());
      if (f.event === 'error') fail(`publish error: ${JSON.stringify(f.data)}`);
    });
    c.on('close', (code, why) => { pubClosed = `${code} ${why}`; });
    return {
      send: (i) => c.send(JSON.stringify({ op: 'publish', workflow_id: opt.room, event: event(i) })),
      buffered: () => c.bufferedAmount,
      close: () => c.terminate(),
    };
  }
  const s = sioClient();
  await new Promise((resolve) => {
    s.on('connect', resolve);
    s.on('connect_error', (e) => fail(`publisher connect_error: ${e.message}`));
  });
  s.on('disconnect', (why) => { pubClosed = why; });
  return {
    send: (i) => s.emit('publish', { workflow_id: opt.room, event: event(i) }),
    buffered: () => s.io.engine?.transport?.ws?.bufferedAmount ?? 0,
    close: () => s.close(),
  };
}

function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function main() {
  const watchdog = setTimeout(() => fail('timed out'), (opt.seconds + 120) * 1000);
  // connect subscribers, 50 at a time
  for (let i = 0; i < opt.clients; i++)
    subs.push({ count: 0, last: 0, gaps: 0, reorders: 0, dropped: 0, base: 0, closing: false });
  for (let i = 0; i < opt.clients; i += 50) {
    await withTimeout(Promise.all(subs.slice(i, i + 50)
      .map((s) => (opt.proto === 'ws' ? openWs(s) : openSio(s)))), 30000, 'subscribers');
  }
  const pub = await withTimeout(openPublisher(), 10000, 'publisher');

  const cpu0 = serverCpuTicks();
  const self0 = process.cpuUsage();
  const t0 = now();
  const durNs = BigInt(Math.round(opt.seconds * 1e9));
  let sent = 0;
  if (opt.rate === 'max') {
    // as fast as the client can, yielding to the event loop every batch so
    // receives are serviced; back off while the socket buffers > 4 MiB
    while (now() - t0 < durNs) {
      if (pub.buffered() < 4 << 20)
        for (let k = 0; k < 200; k++) pub.send(sent++);
      await new Promise((r) => setImmediate(r));
    }
  } else {
    // paced: every ~1 ms send what the schedule says is due
    const perNs = opt.rate / 1e9;
    for (;;) {
      const el = now() - t0;
      if (el >= durNs) break;
      const due = Math.floor(Number(el) * perNs) + 1;
      while (sent < due) pub.send(sent++);
      await sleep(1);
    }
  }
  const tSent = now();
  // drain: until every subscriber has the last seq, or 5 s without progress
  let lastTotal = -1, idleSince = Date.now();
  while (delivered < sent * opt.clients) {
    if (delivered !== lastTotal) { lastTotal = delivered; idleSince = Date.now(); }
    if (Date.now() - idleSince > 5000) break;
    await sleep(10);
  }
  const cpu1 = serverCpuTicks();
  const self1 = process.cpuUsage(self0);
  const mem = serverMem();
  clearTimeout(watchdog);
  for (const s of subs) { s.closing = true; s.close(); }
  const publisherClosed = pubClosed;
  pub.close();

  const sendS = Number(tSent - t0) / 1e9;
  const spanS = Number((lastRecv > tSent ? lastRecv : tSent) - t0) / 1e9;
  lat.sort((a, b) => a - b);
  const gaps = subs.reduce((a, s) => a + s.gaps, 0);
  const markers = subs.reduce((a, s) => a + s.dropped, 0);
  const reorders = subs.reduce((a, s) => a + s.reorders, 0);
  const round = (x, d = 1) => (x === null ? null : Math.round(x * 10 ** d) / 10 ** d);
  const r = {
    proto: opt.proto,
    clients: opt.clients,
    rate_target: opt.rate,
    seconds: round(sendS, 3),
    published: sent,
    publish_rate: Math.round(sent / sendS),
    expected: sent * opt.clients,
    delivered,
    delivered_per_s: Math.round(delivered / spanS),
    latency_us: { p50: round(pct(lat, 0.5)), p99: round(pct(lat, 0.99)), max: round(pct(lat, 1)) },
    drops: { seq_gaps: gaps, dropped_markers: markers, undelivered: sent * opt.clients - delivered,
      reorders },
    server: opt.pid && cpu0 !== null && cpu1 !== null
      ? { cpu_pct: round(((cpu1 - cpu0) / CLK_TCK / spanS) * 100), rss_kb: mem?.rss_kb ?? null,
        hwm_kb: mem?.hwm_kb ?? null }
      : null,
    publisher_closed: publisherClosed,
    client_cpu_pct: round(((self1.user + self1.system) / 1e6 / spanS) * 100),
  };
  if (opt.json) {
    console.log(JSON.stringify(r));
  } else {
    const rows = [
      ['protocol', r.proto], ['subscribers', r.clients], ['target rate', `${r.rate_target}/s`],
      ['published', `${r.published} in ${r.seconds} s (${r.publish_rate}/s)`],
      ['delivered', `${r.delivered} of ${r.expected} (${r.delivered_per_s}/s)`],
      ['latency p50/p99/max', `${r.latency_us.p50} / ${r.latency_us.p99} / ${r.latency_us.max} us`],
      ['drops', `${gaps} seq gaps, ${markers} in dropped markers, ${r.drops.undelivered} undelivered, ${reorders} reorders`],
      ['server cpu / rss', r.server ? `${r.server.cpu_pct} % / ${r.server.rss_kb} kB (peak ${r.server.hwm_kb} kB)` : 'n/a (no --pid)'],
      ['client (node) cpu', `${r.client_cpu_pct} %`],
      ['publisher closed', r.publisher_closed ?? 'no'],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(22)} ${v}`);
  }
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
