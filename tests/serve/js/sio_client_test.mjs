// tests/serve/js/sio_client_test.mjs PORT TOKEN WORKFLOW_ID
//
// troupe's Socket.IO endpoint against the REAL socket.io-client 4.x
// (transports: ['websocket']): a wrong token gets connect_error
// "unauthorized"; the right one connects, subscribes with an ack
// ({ok:true, room, seq}), triggers an execution over the HTTP API and
// receives its workflow_event's in seq order up to execution_completed;
// an unknown event gets an error ack; a raw `ws` check sees the Engine.IO
// open packet.  Exits 0 on success, 1 on any failure; every wait is
// bounded (the whole run by a 45 s watchdog).
import { io } from 'socket.io-client';
import WebSocket from 'ws';

const [port, token, wf] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const fail = (msg) => {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
};
const watchdog = setTimeout(() => fail('timed out'), 45000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const withTimeout = (p, ms, what) =>
  Promise.race([p, sleep(ms).then(() => fail(`${what}: no answer in ${ms} ms`))]);

async function waitHealth() {
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/health`);
      if (r.status === 200) return;
    } catch (e) { /* not up yet */ }
    await sleep(100);
  }
  fail('/health never answered');
}

function connect(auth) {
  return io(base, { transports: ['websocket'], auth, reconnection: false, timeout: 5000 });
}

async function wrongToken() {
  const s = connect({ token: 'wrong' });
  const err = await withTimeout(new Promise((resolve) => {
    s.on('connect', () => resolve(null));
    s.on('connect_error', (e) => resolve(e));
  }), 10000, 'wrong token');
  s.close();
  if (!err) fail('a wrong token connected');
  if (err.message !== 'unauthorized') fail(`connect_error message: ${err.message}`);
}

async function rawOpenPacket() {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  const first = await withTimeout(new Promise((resolve, reject) => {
    ws.on('message', (m) => resolve(m.toString()));
    ws.on('error', reject);
  }), 10000, 'raw open packet');
  ws.close();
  if (first[0] !== '0') fail(`open packet: ${first}`);
  const open = JSON.parse(first.slice(1));
  if (typeof open.sid !== 'string' || !Array.isArray(open.upgrades) ||
      open.pingInterval !== 25000 || open.pingTimeout !== 20000 || !(open.maxPayload > 0))
    fail(`open packet fields: ${first}`);
}

async function main() {
  await waitHealth();
  await rawOpenPacket();
  await wrongToken();

  const s = connect({ token });
  await withTimeout(new Promise((resolve) => {
    s.on('connect', resolve);
    s.on('connect_error', (e) => fail(`connect_error: ${e.message}`));
  }), 10000, 'connect');

  const events = [];
  let done;
  const completed = new Promise((r) => { done = r; });
  s.on('workflow_event', (ev) => {
    events.push(ev);
    if (ev.type === 'execution_completed' || ev.type === 'execution_failed') done();
  });

  const ack = await withTimeout(s.emitWithAck('subscribe_workflow', { workflow_id: wf }),
    10000, 'subscribe ack');
  if (!ack || ack.ok !== true || ack.room !== `workflow:${wf}` || typeof ack.seq !== 'number')
    fail(`subscribe ack: ${JSON.stringify(ack)}`);
  const from = ack.seq;

  const bad = await withTimeout(s.emitWithAck('no_such_event', {}), 10000, 'error ack');
  if (!bad || bad.ok !== false || typeof bad.error !== 'string')
    fail(`error ack: ${JSON.stringify(bad)}`);

  const r = await fetch(`${base}/api/workflows/${wf}/execute`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}` },
  });
  if (r.status !== 202) fail(`execute: ${r.status} ${await r.text()}`);
  await withTimeout(completed, 20000, 'execution events');

  events.forEach((ev, i) => {
    if (ev.workflow_id !== wf) fail(`event of another workflow: ${JSON.stringify(ev)}`);
    if (ev.seq !== from + 1 + i) fail(`seq ${ev.seq}, expected ${from + 1 + i}`);
  });
  if (events[0].type !== 'execution_started') fail(`first event: ${events[0].type}`);
  if (events[events.length - 1].type !== 'execution_completed')
    fail(`last event: ${events[events.length - 1].type}`);

  const un = await withTimeout(s.emitWithAck('unsubscribe_workflow', { workflow_id: wf }),
    10000, 'unsubscribe ack');
  if (!un || un.ok !== true) fail(`unsubscribe ack: ${JSON.stringify(un)}`);
  s.close();
  clearTimeout(watchdog);
  console.log(`sio_client_test: ok (${events.length} events, seq ${from + 1}..${from + events.length})`);
  process.exit(0);
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)));
