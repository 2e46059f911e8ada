'use strict';
// Node ws echo client for the Autobahn fuzzingserver: the reference beside pyws.
// Usage: node ws_client.js ws://127.0.0.1:PORT AGENT [--max-fragments N]
// Asks the fuzzingserver for its case count, runs each case (echoing every
// message), then asks it to write the reports. One line per case on stdout.

const path = require('path');
const WebSocket = require(
  path.join(__dirname, '..', '..', 'test', 'interop', 'node_modules', 'ws')
);

const [base, agent, ...rest] = process.argv.slice(2);
const maxFragArg = rest.indexOf('--max-fragments');
const limits =
  maxFragArg === -1 ? {} : { maxFragments: Number(rest[maxFragArg + 1]) };
if (!base || !agent) {
  process.stderr.write('usage: node ws_client.js ws://127.0.0.1:PORT AGENT\n');
  process.exit(2);
}

function open(url, onMessage) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, limits);
    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on('error', () => {});
    ws.on('close', (code) => resolve(code));
  });
}

async function main() {
  let count = 0;
  await open(`${base}/getCaseCount`, (ws, data) => {
    count = Number(data.toString());
  });
  process.stdout.write(`cases: ${count}\n`);
  for (let i = 1; i <= count; i++) {
    const code = await open(
      `${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`,
      (ws, data, isBinary) => ws.send(data, { binary: isBinary })
    );
    process.stdout.write(`case ${i}/${count} closed ${code}\n`);
  }
  await open(`${base}/updateReports?agent=${encodeURIComponent(agent)}`, () => {});
  process.stdout.write('reports updated\n');
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
