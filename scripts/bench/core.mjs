// The enforcement core at scale: cold full load, RSS with every rendering
// ready, and the CPU one change costs, at 100 000 and 1 000 000 exceptions.
//
//   npm run bench:core -- [--sizes=100000,1000000] [--changes=20]
//
// Each size runs in a fresh child process (core-child.mjs) on a database
// seeded with SQL (generate_series, see lib.mjs). Targets (2-core machine):
// cold full load of 1 000 000 <= 20 s; RSS <= 1 GiB at 1 000 000 with every
// rendering ready; one change at 1 000 000 <= 1 s of CPU. Exit code 0 when
// met, 3 when not.
import { cpus } from 'node:os';
import { fmtMiB, fmtMs, openBenchDatabase, parseArgs, percentile, runBench, say, seedExceptions, startChild, table } from './lib.mjs';

const args = parseArgs();
const SIZES = String(args.sizes ?? '100000,1000000').split(',').map(Number).sort((a, b) => a - b);
const CHANGES = Number(args.changes ?? 20);
const GIB = 1024 ** 3;

async function main() {
  say(`Node ${process.version}, ${cpus().length} CPUs; sizes ${SIZES.join(', ')}; ${CHANGES} single changes each`);
  const db = await openBenchDatabase('core');
  const rows = [];
  let met = true;
  let seeded = 0;
  for (const n of SIZES) {
    await seedExceptions(db.url, seeded, n);
    seeded = n;
    say(`${n} exceptions seeded; measuring …`);
    const child = startChild('core-child.mjs', { args: [`--changes=${CHANGES}`], env: { DATABASE_URL: db.url }, nodeArgs: ['--expose-gc'], label: `core ${n}` });
    let r;
    try {
      r = await child.next('result', 30 * 60_000);
    } finally {
      await child.stop();
    }
    const cpu = r.changes.map((c) => c.cpuMs).sort((a, b) => a - b);
    const wall = r.changes.map((c) => c.ms).sort((a, b) => a - b);
    const ok = n < 1_000_000 || (r.coldMs <= 20_000 && r.rssReady <= GIB && percentile(cpu, 100) <= 1000);
    met &&= ok;
    rows.push([
      n,
      fmtMs(r.coldMs),
      fmtMs(r.reloadMs),
      fmtMiB(r.rssReady),
      fmtMiB(r.peakRss),
      `${percentile(cpu, 50).toFixed(0)} / ${percentile(cpu, 100).toFixed(0)} ms`,
      `${percentile(wall, 50).toFixed(0)} / ${percentile(wall, 100).toFixed(0)} ms`,
      `${r.stallMs.toFixed(0)} ms`,
      `${(r.sizes['postfix-cidr'][0] / 1e6).toFixed(1)} / ${(r.sizes.json[0] / 1e6).toFixed(0)} MB`,
      n < 1_000_000 ? '-' : ok ? 'MET' : 'MISSED',
    ]);
  }
  console.log(`\nEnforcement core, Node ${process.version}, ${cpus().length} CPUs\n`);
  console.log(
    table(
      ['exceptions', 'cold load', 'full reload', 'RSS ready', 'peak RSS', 'change CPU p50/max', 'change wall p50/max', 'longest stall', 'cidr / json body', 'targets at 1 M'],
      rows,
    ),
  );
  console.log('\ncold load: createApp() until the list is served; change: one grant committed on another connection until served (CPU of the serving process);');
  console.log('longest stall: the largest event-loop delay seen during the single changes.');
  return met ? 0 : 3;
}

runBench(main, 60 * 60);
