'use strict';

// Compare-tool adapter for Node ws (scripts/compare/README.md, "Adapters").
//
// Usage: node ws_adapter.js '<json config>'
// The config is the scenario's "implementation" part plus "port" (client
// role: the raw peer's port). One JSON object per line goes to stdout:
//   {"t": <epoch ms>, "kind": "event"|"meta", "event": <name>, "args": [...],
//    "readyState": <n>}
// Byte strings are written as {"b": "<hex>"}. The process exits once the
// connection has closed (and, as a server, once the server has closed).

const crypto = require('crypto');
const path = require('path');

const wsPath = process.env.PYWS_COMPARE_WS_MODULE ||
  path.resolve(__dirname, '../../../test/interop/node_modules/ws');
const WebSocket = require(wsPath);

const config = JSON.parse(process.argv[2]);
const { performance } = require('perf_hooks');

function now() {
  return performance.timeOrigin + performance.now();
}

// Payloads past 1 KiB are logged as length and SHA-1 (as the raw peer does).
function encBytes(buf) {
  if (buf.length > 1024) {
    return { len: buf.length, sha1: crypto.createHash('sha1').update(buf).digest('hex') };
  }
  return { b: buf.toString('hex') };
}

function enc(value) {
  if (Buffer.isBuffer(value)) return encBytes(value);
  if (value instanceof ArrayBuffer) return encBytes(Buffer.from(value));
  if (Array.isArray(value)) return value.map(enc);
  return value === undefined ? null : value;
}

function statusCodeOf(err) {
  for (const sym of Object.getOwnPropertySymbols(err)) {
    if (sym.description === 'status-code') return err[sym];
  }
  return null;
}

function encError(err) {
  if (!err) return null;
  return {
    name: err.name || null,
    code: err.code === undefined ? null : err.code,
    message: err.message,
    statusCode: statusCodeOf(err)
  };
}

function log(kind, event, args, ws) {
  const rec = { t: now(), kind, event, args: (args || []).map(enc) };
  if (ws) rec.readyState = ws.readyState;
  process.stdout.write(JSON.stringify(rec) + '\n');
}

let pending = 0;
let closed = false;
let server = null;
let serverClosed = false;

function maybeExit() {
  if (!closed || pending > 0) return;
  if (server && !serverClosed) {
    closeServer();
    return;
  }
  log('meta', 'exit', []);
  process.exit(0);
}

function closeServer() {
  if (!server || server._pywsClosing) return;
  server._pywsClosing = true;
  server.close(() => {
    serverClosed = true;
    log('meta', 'server_close', []);
    closed = true;
    maybeExit();
  });
}

function payload(action) {
  if (action.data_hex !== undefined) return Buffer.from(action.data_hex, 'hex');
  if (action.data_size !== undefined) {
    const out = Buffer.alloc(action.data_size);
    for (let i = 0; i < out.length; i++) out[i] = i & 255;
    return out;
  }
  if (action.data !== undefined) return action.data;
  return undefined;
}

function run(ws, action) {
  const cb = (name) => (err) => {
    log('event', name, [encError(err), ws.bufferedAmount], ws);
  };
  try {
    switch (action.do) {
      case 'send': {
        const data = payload(action);
        ws.send(data === undefined ? '' : data, action.options || {}, cb('send_cb'));
        break;
      }
      case 'ping':
        ws.ping(payload(action), action.mask, cb('ping_cb'));
        break;
      case 'pong':
        ws.pong(payload(action), action.mask, cb('pong_cb'));
        break;
      case 'close':
        if (action.code === undefined) ws.close();
        else if (action.reason === undefined) ws.close(action.code);
        else ws.close(action.code, action.reason);
        break;
      case 'terminate':
        ws.terminate();
        break;
      case 'pause':
        ws.pause();
        break;
      case 'resume':
        ws.resume();
        break;
      case 'shutdown': {
        // pyws's wss.shutdown() as ws users write it: close every client,
        // then the server (ws 8's close() leaves clients open).
        const code = action.code === undefined ? 1001 : action.code;
        for (const client of server.clients) {
          if (action.reason === undefined) client.close(code);
          else client.close(code, action.reason);
        }
        // Stop accepting; the adapter exits once the connection closed.
        server.close();
        break;
      }
      case 'log_state':
        log('event', 'state', [ws.bufferedAmount, ws.protocol, ws.extensions], ws);
        break;
      default:
        throw new Error('unknown action ' + action.do);
    }
  } catch (err) {
    log('event', 'throw', [encError(err)], ws);
  }
}

// pingInterval / pingTimeout are pyws options; ws users write the heartbeat
// by hand (ws's README). Same cycle as pyws: a ping with a 4-byte counter
// every interval, terminate if nothing came back within the timeout.
function heartbeat(ws) {
  const interval = (config.options || {}).pingInterval;
  if (!interval) return;
  const timeout = (config.options || {}).pingTimeout || interval;
  let count = 0;
  let heard = false;
  let timer = null;
  ws.on('message', () => { heard = true; });
  ws.on('ping', () => { heard = true; });
  ws.on('pong', () => { heard = true; });
  ws.on('close', () => clearTimeout(timer));
  const ping = () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    count++;
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(count);
    heard = false;
    ws.ping(payload);
    timer = setTimeout(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (!heard) ws.terminate();
      else timer = setTimeout(ping, Math.max(0, interval - timeout));
    }, timeout);
  };
  timer = setTimeout(ping, interval);
}

function attach(ws) {
  heartbeat(ws);
  const counts = {};
  const trigger = (name) => {
    counts[name] = (counts[name] || 0) + 1;
    for (const action of config.actions || []) {
      if (action.on !== name || (action.nth || 1) !== counts[name]) continue;
      if (action.after_ms) {
        pending++;
        setTimeout(() => {
          pending--;
          run(ws, action);
          maybeExit();
        }, action.after_ms);
      } else {
        run(ws, action);
      }
    }
  };
  ws.on('message', (data, isBinary) => {
    log('event', 'message', [data, isBinary], ws);
    trigger('message');
  });
  ws.on('ping', (data) => {
    log('event', 'ping', [data], ws);
    trigger('ping');
  });
  ws.on('pong', (data) => {
    log('event', 'pong', [data], ws);
    trigger('pong');
  });
  ws.on('error', (err) => {
    log('event', 'error', [encError(err)], ws);
    trigger('error');
  });
  ws.on('close', (code, reason) => {
    log('event', 'close', [code, reason], ws);
    trigger('close');
    closed = true;
    maybeExit();
  });
  return trigger;
}

log('meta', 'version', ['ws ' + require(path.join(wsPath, 'package.json')).version]);
// The scenario-level heartbeat: ws has no option for it, so it becomes the
// hand-written heartbeat above (pingInterval / pingTimeout, in ms).
if (config.heartbeat !== undefined) {
  config.options = Object.assign({}, config.options || {}, {
    pingInterval: config.heartbeat.interval_ms,
    pingTimeout: config.heartbeat.timeout_ms
  });
}

const options = Object.assign({}, config.options || {});

if (config.role === 'server') {
  options.port = 0;
  options.host = '127.0.0.1';
  server = new WebSocket.Server(options);
  server.on('listening', () => {
    log('meta', 'listening', [server.address().port]);
  });
  server.on('error', (err) => log('event', 'server_error', [encError(err)]));
  server.on('connection', (ws, req) => {
    log('event', 'connection', [req.url], ws);
    const trigger = attach(ws);
    trigger('open');
  });
  process.stdin.on('end', () => {
    closed = true;
    maybeExit();
  });
  process.stdin.resume();
} else {
  const url = 'ws://127.0.0.1:' + config.port + (config.path || '/');
  const ws = config.protocols === undefined
    ? new WebSocket(url, options)
    : new WebSocket(url, config.protocols, options);
  ws.on('upgrade', () => log('event', 'upgrade', [], ws));
  ws.on('open', () => {
    log('event', 'open', [], ws);
    trigger('open');
  });
  const trigger = attach(ws);
}
