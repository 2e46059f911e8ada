'use strict';

// Shared plumbing of the Node ws peers used by pyws's interop tests.
// Protocol: one JSON object per line. The peer prints events on stdout
// ({"event": ...}) and reads commands on stdin ({"cmd": ...}).

const crypto = require('crypto');
const readline = require('readline');

const t0 = process.hrtime.bigint();

function now() {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function emit(obj) {
  obj.t = now();
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// Deterministic payload of `size` bytes: byte i is (i * 7 + seed) % 251.
function pattern(size, seed) {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 7 + seed) % 251;
  return buf;
}

function describe(data) {
  const buf = Buffer.isBuffer(data)
    ? data
    : Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.from(data);
  const out = {
    len: buf.length,
    sha256: crypto.createHash('sha256').update(buf).digest('hex')
  };
  if (buf.length <= 65536) out.data_b64 = buf.toString('base64');
  return out;
}

function payloadOf(cmd) {
  if (cmd.size !== undefined) return pattern(cmd.size, cmd.seed || 0);
  if (cmd.repeat !== undefined) return cmd.repeat.repeat(cmd.times);
  if (cmd.text !== undefined) return cmd.text;
  return Buffer.from(cmd.data_b64 || '', 'base64');
}

function errorInfo(err) {
  const info = { code: err.code, message: err.message, name: err.name };
  for (const sym of Object.getOwnPropertySymbols(err)) {
    if (String(sym) === 'Symbol(status-code)') info.statusCode = err[sym];
  }
  return info;
}

// Attach event reporters to a ws WebSocket and its TCP socket.
function watch(ws, id, socket) {
  ws.on('message', (data, isBinary) => {
    emit(Object.assign({ event: 'message', id, isBinary }, describe(data)));
  });
  ws.on('ping', (data) => emit({ event: 'ping', id, data_b64: data.toString('base64') }));
  ws.on('pong', (data) => emit({ event: 'pong', id, data_b64: data.toString('base64') }));
  ws.on('error', (err) => emit(Object.assign({ event: 'error', id, readyState: ws.readyState }, errorInfo(err))));
  ws.on('close', (code, reason) => {
    emit({
      event: 'close',
      id,
      code,
      reason: reason.toString('utf8'),
      reason_b64: reason.toString('base64')
    });
  });
  if (socket) watchSocket(socket, id);
}

// 'end': the peer's FIN arrived. 'finish': our FIN was sent (end() flushed).
function watchSocket(socket, id) {
  socket.on('end', () => emit({ event: 'socket_end', id }));
  socket.on('finish', () => emit({ event: 'socket_finish', id }));
  socket.on('close', (hadError) => emit({ event: 'socket_close', id, hadError }));
}

function run(ws, cmd) {
  const seq = cmd.seq;
  const done = (err) => emit({ event: 'sent', id: cmd.id, seq, error: err ? err.message : null });
  try {
    switch (cmd.cmd) {
      case 'send': {
        const opts = { binary: cmd.binary !== false, fin: cmd.fin !== false };
        if (cmd.mask !== undefined) opts.mask = cmd.mask;
        if (cmd.compress !== undefined) opts.compress = cmd.compress;
        ws.send(payloadOf(cmd), opts, done);
        break;
      }
      case 'ping':
        ws.ping(payloadOf(cmd), cmd.mask, done);
        break;
      case 'pong':
        ws.pong(payloadOf(cmd), cmd.mask, done);
        break;
      case 'close':
        if (cmd.code === undefined || cmd.code === null) ws.close();
        else ws.close(cmd.code, cmd.reason || '');
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
      case 'raw': {
        // Bytes straight onto the TCP socket, bypassing ws's framing.
        ws._socket.write(Buffer.from(cmd.data_b64, 'base64'));
        break;
      }
      case 'state':
        emit({
          event: 'state',
          id: cmd.id,
          seq,
          readyState: ws.readyState,
          bufferedAmount: ws.bufferedAmount,
          protocol: ws.protocol,
          extensions: ws.extensions
        });
        break;
      default:
        emit({ event: 'bad_command', cmd });
    }
  } catch (err) {
    emit(Object.assign({ event: 'throw', id: cmd.id, seq }, errorInfo(err)));
  }
}

function commands(handler) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (!line.trim()) return;
    const cmd = JSON.parse(line);
    if (cmd.cmd === 'exit') process.exit(0);
    handler(cmd);
  });
  rl.on('close', () => process.exit(0));
}

module.exports = { emit, watch, watchSocket, run, commands, describe, pattern, now };
