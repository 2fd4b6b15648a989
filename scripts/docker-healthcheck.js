#!/usr/bin/env node
'use strict';
// Docker HEALTHCHECK for the soda image. One image runs both roles, so the check finds the soda
// process in the container and asks what fits its role:
//   master / run: GET /healthz on its port (--port, else SODA_PORT, else 7070) must answer 200;
//   worker and anything else: the soda process is alive (a worker has no HTTP port; it reconnects itself).
// Exit 0 healthy, 1 unhealthy. Uses only node's standard library: the image has no curl or wget.
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');

function sodaArgv() {
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue; // the process ended while we looked
    }
    const i = argv.findIndex((a) => /(^|\/)soda(\.js)?$/.test(a));
    if (i >= 0) return argv.slice(i + 1);
  }
  return null;
}

function optionValue(args, name) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

function probe(lib, port) {
  return new Promise((resolve) => {
    const req = lib.get(
      { host: '127.0.0.1', port, path: '/healthz', timeout: 2500, rejectUnauthorized: false },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function main() {
  const args = sodaArgv();
  if (args === null) {
    console.error('healthcheck: no soda process in this container');
    return 1;
  }
  const role = args.find((a) => !a.startsWith('-'));
  if (role !== 'master' && role !== 'run') return 0;
  const port = Number(optionValue(args, 'port') ?? process.env.SODA_PORT ?? 7070);
  if ((await probe(http, port)) || (await probe(https, port))) return 0;
  console.error(`healthcheck: GET /healthz on port ${port} failed`);
  return 1;
}

main().then((code) => process.exit(code));
