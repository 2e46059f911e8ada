'use strict';
// Node ws echo server for the Autobahn fuzzingclient: the reference beside pyws.
// Usage: node ws_server.js [--port N] [--no-deflate] [--max-fragments N]
// Prints the bound port on stdout, then echoes every message until killed.
// Needs ws from test/interop (npm ci --prefix test/interop).

const path = require('path');
const WebSocket = require(
  path.join(__dirname, '..', '..', 'test', 'interop', 'node_modules', 'ws')
);

const args = process.argv.slice(2);
const portArg = args.indexOf('--port');
const port = portArg === -1 ? 0 : Number(args[portArg + 1]);
const perMessageDeflate = !args.includes('--no-deflate');
const maxFragArg = args.indexOf('--max-fragments');
const limits =
  maxFragArg === -1 ? {} : { maxFragments: Number(args[maxFragArg + 1]) };

const wss = new WebSocket.WebSocketServer(
  { host: '127.0.0.1', port, perMessageDeflate, ...limits },
  () => {
    process.stdout.write(`${wss.address().port}\n`);
  }
);

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    ws.send(data, { binary: isBinary });
  });
  // Autobahn sends broken frames on purpose: the error is expected, the
  // close code it leads to is what the suite checks.
  ws.on('error', () => {});
});

process.on('SIGTERM', () => wss.close(() => process.exit(0)));
