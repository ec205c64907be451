#!/usr/bin/env node
// Drive one SMTP conversation up to RCPT TO (never DATA, so nothing is sent),
// printing every reply, for scripts/mailhost/verify.sh.
//
//   node scripts/mailhost/smtp-probe.mjs [--host 127.0.0.1] [--port 2525]
//        --helo NAME [--from ADDR] [--rcpt ADDR] [--command EHLO|HELO] [--source 127.0.0.2]
//
// --source: the local address to connect from (another loopback address is
// another client address for Postfix).
//
// Output, one line per step: `<STEP> <final reply line>`, e.g.
//   BANNER 220 mx.helopass.test ESMTP
//   EHLO 250 SMTPUTF8
//   MAIL 250 2.1.0 Ok
//   RCPT 450 4.7.1 <exch01.corp.example>: Helo command rejected: Host not found
// A step rejected with 4xx/5xx ends the conversation (QUIT is still sent).
//
//   node scripts/mailhost/smtp-probe.mjs [--host H] [--port P] --table scripts/mailhost/helo-table.json
//
// Table mode: one conversation per row of the HELO table; for each, the reply
// that ended it (or `accepted` when RCPT got 250) is compared with the row's
// `reply`, and one line is printed: `PASS <form>: EHLO <helo> -> <reply>`, or
// `FAIL …` with what was expected. Exit status 1 when any row failed.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

function arg(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}

const host = arg('host', '127.0.0.1');
const port = Number(arg('port', '2525'));
const helo = arg('helo');
const table = arg('table');
const verb = arg('command', 'EHLO');
const from = arg('from', 'probe@sender.example');
const rcpt = arg('rcpt', 'postmaster@helopass.test');
const source = arg('source');
if (!helo && !table) {
  console.error('usage: smtp-probe.mjs --helo NAME [--host H] [--port P] [--from A] [--rcpt A] [--command EHLO|HELO] | --table FILE');
  process.exit(2);
}

/** One conversation; resolves to its steps, `[[STEP, final reply line], …]`. */
function converse(name) {
  return new Promise((resolveAll, rejectAll) => {
    const steps = [];
    const socket = connect({ host, port, ...(source ? { localAddress: source } : {}) });
    socket.setTimeout(30_000, () => {
      socket.destroy();
      rejectAll(new Error('timeout'));
    });
    socket.on('error', (error) => rejectAll(error));

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

    const reply = () =>
      new Promise((resolve) => {
        waiting = resolve;
        deliver();
      });

    async function step(label, command) {
      if (command !== undefined) socket.write(`${command}\r\n`);
      const lines = await reply();
      const last = lines[lines.length - 1];
      steps.push([label, last]);
      return last.startsWith('2') || last.startsWith('3');
    }

    (async () => {
      const plan = [
        ['BANNER', undefined],
        [verb.toUpperCase(), `${verb} ${name}`],
        ['MAIL', `MAIL FROM:<${from}>`],
        ['RCPT', `RCPT TO:<${rcpt}>`],
      ];
      for (const [label, command] of plan) {
        if (!(await step(label, command))) break;
      }
      // RSET is implied by QUIT; no DATA is ever sent.
      await step('QUIT', 'QUIT').catch(() => undefined);
      socket.end();
      resolveAll(steps.filter(([label]) => label !== 'QUIT'));
    })().catch(rejectAll);
  });
}

async function single() {
  try {
    for (const [label, line] of await converse(helo)) console.log(`${label} ${line}`);
  } catch (error) {
    console.log(`ERROR ${error.message}`);
    process.exit(1);
  }
}

async function wholeTable() {
  const { rows } = JSON.parse(readFileSync(table, 'utf8'));
  let failed = 0;
  for (const row of rows) {
    let got;
    try {
      const steps = await converse(row.helo);
      const [label, line] = steps[steps.length - 1];
      got = label === 'RCPT' && line.startsWith('250') ? null : line;
    } catch (error) {
      got = `ERROR ${error.message}`;
    }
    const shown = (reply) => reply ?? 'accepted';
    if (got === row.reply) {
      console.log(`PASS  ${row.form}: EHLO ${row.helo} -> ${shown(got)}`);
    } else {
      failed += 1;
      console.log(`FAIL  ${row.form}: EHLO ${row.helo}\n      predicted: ${shown(row.reply)}\n      Postfix:   ${shown(got)}`);
    }
  }
  console.log(`---- HELO table: ${rows.length - failed} of ${rows.length} rows agree with Postfix`);
  process.exit(failed === 0 ? 0 : 1);
}

await (table ? wholeTable() : single());
