'use strict';

// Fan-out server on Node ws 8.x: every message goes to every client, as ws's
// README shows it: wss.clients.forEach(client => client.send(data)).
// --deflate turns on perMessageDeflate (ws's defaults: context takeover).
// Prints its port on stdout once listening.

const { WebSocketServer, WebSocket } = require('ws');

const deflate = process.argv.includes('--deflate');
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  backlog: 2048,
  perMessageDeflate: deflate
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    wss.clients.forEach((client) => {
      if (client.readyState === WebSocket.OPEN) {
        client.send(data, { binary: isBinary });
      }
    });
  });
  ws.on('error', () => {});
});

wss.on('listening', () => {
  process.stdout.write(`${wss.address().port}\n`);
});
