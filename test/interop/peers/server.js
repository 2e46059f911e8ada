'use strict';

// A ws WebSocketServer driven over stdin/stdout (see common.js).
// argv[2]: JSON {options: <WebSocketServer options>, echo: bool,
//               protocol: <name to select, or null for ws's default>}.

const { WebSocketServer } = require('ws');
const { emit, watch, run, commands } = require('./common');

const config = JSON.parse(process.argv[2] || '{}');
const options = Object.assign({ port: 0, host: '127.0.0.1' }, config.options || {});
if (config.protocol !== undefined) {
  options.handleProtocols = (protocols) => (config.protocol === null ? false : config.protocol);
}
const clients = new Map();
let nextId = 1;

const wss = new WebSocketServer(options);
wss.on('listening', () => emit({ event: 'listening', port: wss.address().port }));
wss.on('headers', (headers) => emit({ event: 'headers', headers }));
wss.on('wsClientError', (err, socket) => {
  emit({ event: 'wsClientError', message: err.message });
  socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
});
wss.on('error', (err) => emit({ event: 'server_error', message: err.message }));
wss.on('connection', (ws, req) => {
  const id = nextId++;
  clients.set(id, ws);
  watch(ws, id, req.socket);
  if (config.echo) {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  }
  emit({
    event: 'connection',
    id,
    url: req.url,
    headers: req.headers,
    protocol: ws.protocol,
    extensions: ws.extensions
  });
});

commands((cmd) => {
  const id = cmd.id || nextId - 1;
  const ws = clients.get(id);
  if (!ws) return emit({ event: 'bad_command', cmd, why: 'no such connection' });
  cmd.id = id;
  run(ws, cmd);
});
