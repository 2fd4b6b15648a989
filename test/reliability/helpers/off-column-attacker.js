'use strict';
/*
 * A lying worker as its own process (for test/reliability/off-columns.test.ts): it joins pinned to
 * one shard, answers `ready` with the shard's true L_i, and to its first `model` sends a Δ with a
 * large non-zero on a column its shard does not have and that is not in supp(w) — what no honest step
 * produces, and what would make the master store w_i entries of its choosing. It prints one JSON line
 * per event (attack, error frame, close) and exits when the master closes the connection.
 *   node off-column-attacker.js ws://host:port SHARD
 * Needs the built packages (npm run build).
 */
const WsClient = require('ws');
const { logisticSmoothness } = require('@soda/core');
const { decodeFromMaster, encode, PROTOCOL_VERSION } = require('@soda/protocol');

const [url, shardArg] = process.argv.slice(2);
const pinned = Number(shardArg);
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const ws = new WsClient(url);
let cols = null;
let attacked = false;

ws.on('error', (e) => say({ event: 'socket-error', message: e.message }));
ws.on('message', (data) => {
  const d = decodeFromMaster(data);
  if (!d.ok) return say({ event: 'undecodable' });
  const msg = d.msg;
  if (msg.t === 'challenge')
    ws.send(encode({ t: 'hello', version: PROTOCOL_VERSION, workerId: 'attacker', shard: pinned }));
  else if (msg.t === 'assign' && msg.rows !== null) {
    const { m, ptr, ind, val } = msg.rows;
    cols = new Set(ind);
    const L = logisticSmoothness({ rows: m, cols: msg.n, ptr, ind, val }, msg.lambda2);
    ws.send(encode({ t: 'ready', shard: msg.shard, m, L }));
  } else if (msg.t === 'model' && !attacked && cols !== null) {
    attacked = true;
    const inW = new Set(msg.w.idx);
    let j = -1;
    for (let c = msg.w.n - 1; c >= 0 && j < 0; c--) if (!cols.has(c) && !inW.has(c)) j = c;
    if (j < 0) return say({ event: 'no-column-to-attack' });
    say({ event: 'attack', column: j, k: msg.k });
    const delta = { n: msg.w.n, idx: Uint32Array.of(j), val: Float64Array.of(1e3) };
    ws.send(encode({ t: 'update', shard: pinned, k: msg.k, delta, fi: Math.LN2 }));
  } else if (msg.t === 'error') say({ event: 'error-frame', code: msg.code, message: msg.message });
});
ws.on('close', (code, reason) => {
  say({ event: 'closed', code, reason: reason.toString() });
  process.exit(0);
});
