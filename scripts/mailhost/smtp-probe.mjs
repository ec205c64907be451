#!/usr/bin/env node
// Drive one SMTP conversation up to RCPT TO (never DATA, so nothing is sent),
// printing every reply, for scripts/mailhost/verify.sh.
//
//   node scripts/mailhost/smtp-probe.mjs [--host 127.0.0.1] [--port 2525]
//        --helo NAME [--from ADDR] [--rcpt ADDR] [--command EHLO|HELO]
//
// Output, one line per step: `<STEP> <final reply line>`, e.g.
//   BANNER 220 mx.helopass.test ESMTP
//   EHLO 250 SMTPUTF8
//   MAIL 250 2.1.0 Ok
//   RCPT 450 4.7.1 <exch01.corp.example>: Helo command rejected: Host not found
// A step rejected with 4xx/5xx ends the conversation (QUIT is still sent).
import { connect } from 'node:net';

function arg(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '2525'));
const helo = arg('helo');
const verb = arg('command', 'EHLO');
const from = arg('from', 'probe@sender.example');
const rcpt = arg('rcpt', 'postmaster@helopass.test');
if (!helo) {
  console.error('usage: smtp-probe.mjs --helo NAME [--host H] [--port P] [--from A] [--rcpt A] [--command EHLO|HELO]');
  process.exit(2);
}

const socket = connect({ host, port });
socket.setTimeout(30_000, () => {
  console.log('ERROR timeout');
  socket.destroy();
  process.exit(1);
});
socket.on('error', (error) => {
  console.log(`ERROR ${error.message}`);
  process.exit(1);
});

let buffer = '';
let waiting = null;
socket.on('data', (chunk) => {
  buffer += chunk.toString('utf8');
  deliver();
});

/** Resolve the pending read once a complete (possibly multi-line) reply is buffered. */
function deliver() {
  if (!waiting) return;
  const lines = buffer.split('\r\n');
  for (let i = 0; i < lines.length - 1; i += 1) {
    if (/^\d{3} /.test(lines[i]) || /^\d{3}$/.test(lines[i])) {
      buffer = lines.slice(i + 1).join('\r\n');
      const resolve = waiting;
      waiting = null;
      resolve(lines.slice(0, i + 1));
      return;
    }
  }
}

function reply() {
  return new Promise((resolve) => {
    waiting = resolve;
    deliver();
  });
}

async function step(name, command) {
  if (command !== undefined) socket.write(`${command}\r\n`);
  const lines = await reply();
  const last = lines[lines.length - 1];
  console.log(`${name} ${last}`);
  return last.startsWith('2') || last.startsWith('3');
}

async function main() {
  const steps = [
    ['BANNER', undefined],
    [verb.toUpperCase(), `${verb} ${helo}`],
    ['MAIL', `MAIL FROM:<${from}>`],
    ['RCPT', `RCPT TO:<${rcpt}>`],
  ];
  for (const [name, command] of steps) {
    if (!(await step(name, command))) break;
  }
  // RSET is implied by QUIT; no DATA is ever sent.
  await step('QUIT', 'QUIT').catch(() => undefined);
  socket.end();
}

main().catch((error) => {
  console.log(`ERROR ${error.message}`);
  process.exit(1);
});
