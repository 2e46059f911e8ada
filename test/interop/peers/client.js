'use strict';

// A ws WebSocket client driven over stdin/stdout (see common.js).
// argv[2]: JSON {url, protocols, options: <WebSocket options>, echo: bool,
// keepOnUnexpected: bool}.

const WebSocket = require('ws');
const { emit, watch, watchSocket, run, commands } = require('./common');

const config = JSON.parse(process.argv[2]);
const ws = new WebSocket(config.url, config.protocols || undefined, config.options || {});
watch(ws, 1, null);
ws.on('upgrade', (res) => {
  watchSocket(res.socket, 1);
  emit({ event: 'upgrade', statusCode: res.statusCode, headers: res.headers });
});
ws.on('unexpected-response', (req, res) => {
  emit({ event: 'unexpected-response', statusCode: res.statusCode, headers: res.headers });
  // config.keepOnUnexpected: leave the decision to later commands, as a
  // listener that only looks at the response does.
  if (!config.keepOnUnexpected) {
    req.destroy();
    ws.terminate();
  }
});
ws.on('open', () => emit({ event: 'open', protocol: ws.protocol, extensions: ws.extensions }));
if (config.echo) {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

commands((cmd) => {
  cmd.id = 1;
  run(ws, cmd);
});
