'use strict';

// Echo server on Node ws 8.x (with bufferutil when installed), ws defaults.
// --deflate turns on perMessageDeflate (off by default on a ws server).
// Prints its port on stdout once listening.

const { WebSocketServer } = require('ws');

const deflate = process.argv.includes('--deflate');
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: deflate
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});

wss.on('listening', () => {
  process.stdout.write(`${wss.address().port}\n`);
});
