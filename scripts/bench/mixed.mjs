// bench:mixed — the whole stack under the mixed load of issue 14, and what
// must stay true under it.
//
//   npm run bench:mixed [-- --seconds=60]
//     --seconds=60        measured load (shorter for a quick look)
//     --pollers=200       feed pollers, each on its own kept-alive connection
//     --poll-ms=1000      each poller asks this often (conditional GET, If-None-Match)
//     --policy=32         persistent Postfix policy connections
//     --policy-gap-ms=20  pause between a connection's answer and its next request
//     --writers=20        CSR writers, each writing back-to-back with its own key
//     --size=1000         active exceptions seeded before the load (what the feed serves)
//
// Processes: a HeloPass API process (scripts/bench/mixed-api.mjs: createApp
// from dist/, as `npm start`), a separately running policy server
// (dist/apps/policy/src/main.js), a throwaway database (PostgreSQL at
// 127.0.0.1:5432 when it answers, else embedded) and a DNS server in this
// process on a loopback port (the API's only resolver), which proves
// ownership: each writer's domain is verified through its TXT challenge
// before the load, its SPF record authorizes 198.18.0.0/15 and every address
// there has a forward-confirmed PTR name, so that grants are real grants.
// This process is the load generator.
//
// Each writer repeats: add a mail server to its organization, grant a `pair`
// exception on it (ownership checked against DNS at grant time), create an
// organization, patch its own organization's notes — four audited writes. A
// grant answered 201 is sampled for propagation (one sample at a time): the
// time from the 201 until the feed (a filter key's GET, back-to-back) lists its
// address, and until the policy server answers OK for its HELO name and address.
//
// After the load: no lost update (every write answered 2xx is in the
// database, the last patch of each organization is what it holds), the audit
// events written during the load are exactly the committed writes, and the
// chain verifies (GET /v1/audit-events/verify, auditor key) once nothing is
// left to link. Targets: error rate 0, CSR write p95 <= 50 ms, propagation
// p99 <= 500 ms. Exit code 0 when everything is met, 3 when not.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import dns2 from 'dns2';
import pg from 'pg';
import {
  benchAddress,
  fmtMs,
  freePort,
  onCleanup,
  openBenchDatabase,
  parseArgs,
  percentile,
  postfixPolicyRequest,
  processCpuSeconds,
  runBench,
  say,
  seedExceptions,
  startChild,
  table,
} from './lib.mjs';

const args = parseArgs();
const SECONDS = Number(args.seconds ?? 60);
const POLLERS = Number(args.pollers ?? 200);
const POLL_MS = Number(args['poll-ms'] ?? 1000);
const POLICY = Number(args.policy ?? 32);
const POLICY_GAP_MS = Number(args['policy-gap-ms'] ?? 20);
const WRITERS = Number(args.writers ?? 20);
const SIZE = Number(args.size ?? 1000);
const WRITE_P95_TARGET = 50;
const PROPAGATION_TARGET = 500;
const PROPAGATION_TIMEOUT_MS = 30_000;
const SERVERS_PER_WRITER = 4096;
const CANARY = 'a.root-servers.net';
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const sorted = (values) => Float64Array.from(values).sort();

// ---------------------------------------------------------------------------
// DNS: the writers' domains, challenges, SPF and forward-confirmed PTR names.

/** Address number n of writer w, in 198.18.0.0/15 (4096 per writer). */
function serverAddress(w, n) {
  const index = w * SERVERS_PER_WRITER + n + 1;
  return `198.${18 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`;
}

function startDns(domains, txt) {
  const { Packet } = dns2;
  const records = (name, type) => {
    if (name === CANARY) {
      return { known: true, answers: type === Packet.TYPE.A ? [{ address: '198.41.0.4' }] : [] };
    }
    if (txt.has(name)) {
      return { known: true, answers: type === Packet.TYPE.TXT ? [{ data: [txt.get(name)] }] : [] };
    }
    if (domains.includes(name)) {
      return { known: true, answers: type === Packet.TYPE.TXT ? [{ data: ['v=spf1 ip4:198.18.0.0/15 -all'] }] : [] };
    }
    const mx = /^mx(\d+)\.(.+)$/.exec(name);
    if (mx && domains.includes(mx[2])) {
      const address = serverAddress(domains.indexOf(mx[2]), Number(mx[1]));
      return { known: true, answers: type === Packet.TYPE.A ? [{ address }] : [] };
    }
    const ptr = /^(\d+)\.(\d+)\.(\d+)\.198\.in-addr\.arpa$/.exec(name);
    if (ptr && (ptr[3] === '18' || ptr[3] === '19')) {
      const index = ((Number(ptr[3]) - 18) << 16) + (Number(ptr[2]) << 8) + Number(ptr[1]) - 1;
      const w = Math.floor(index / SERVERS_PER_WRITER);
      if (w < domains.length) {
        return { known: true, answers: type === Packet.TYPE.PTR ? [{ domain: `mx${index % SERVERS_PER_WRITER}.${domains[w]}` }] : [] };
      }
    }
    return { known: false, answers: [] };
  };
  const server = dns2.createServer({
    udp: true,
    tcp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const [question] = request.questions;
      const name = question.name.toLowerCase().replace(/\.$/, '');
      const { known, answers } = records(name, question.type);
      if (!known) {
        response.header.rcode = 3; // NXDOMAIN
      }
      for (const answer of answers) {
        response.answers.push({ name: question.name, type: question.type, class: Packet.CLASS.IN, ttl: 60, ...answer });
      }
      send(response);
    },
  });
  return server;
}

/** CPU seconds the whole machine spent busy so far (all CPUs, from /proc/stat): what else ran shows beside our processes. */
function machineBusySeconds() {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
    return (user + nice + system + irq + softirq + steal) / 100;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------
// HTTP

async function api(port, key, method, path, body) {
  const started = performance.now();
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, ms: performance.now() - started };
  } catch (error) {
    return { status: 'error', error: String(error), ms: performance.now() - started };
  }
}

function feedGet(port, key, agent, etag) {
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/v1/allowlist/postfix-cidr',
        agent,
        headers: { authorization: `Bearer ${key}`, ...(etag ? { 'if-none-match': etag } : {}) },
        timeout: 10_000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, etag: res.headers.etag, body: Buffer.concat(chunks).toString('latin1') }));
        res.on('error', () => resolve({ status: 'error' }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 'error' }));
    req.end();
  });
}

// ---------------------------------------------------------------------------
// Policy protocol (Postfix 3.x at the HELO stage)

/** One request as Postfix sends it, with the empty line that ends it. */
const policyRequest = (helo, address) => `${postfixPolicyRequest(helo, address, 1)}\n\n`;

/** One persistent connection, one request at a time; ask() resolves with the answer or null (failure). */
async function policyConnection(port) {
  const socket = await new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    s.once('error', reject);
  });
  let received = '';
  let pending = null;
  const settle = (value) => {
    const p = pending;
    pending = null;
    p?.(value);
  };
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
    if (received.endsWith('\n\n')) {
      const answer = received;
      received = '';
      settle(answer);
    }
  });
  socket.on('error', () => settle(null));
  socket.on('close', () => settle(null));
  return {
    ask(text) {
      if (socket.destroyed) {
        return Promise.resolve(null);
      }
      return new Promise((resolve) => {
        const timer = setTimeout(() => settle(null), 5000);
        pending = (value) => {
          clearTimeout(timer);
          resolve(value);
        };
        socket.write(text);
      });
    },
    close: () => socket.destroy(),
  };
}

async function startPolicyServer(url) {
  const port = await freePort();
  const entry = join(process.env.HELOPASS_BENCH_DIST, 'apps/policy/src/main.js');
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, DATABASE_URL: url, POLICY_PORT: String(port), MIGRATE_ON_START: 'false', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  for (const deadline = Date.now() + 120_000; !output.includes('Postfix policy service on inet:'); await sleep(50)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`the policy server did not start:\n${output}`);
    }
  }
  return { port, pid: child.pid };
}

// ---------------------------------------------------------------------------

runBench(async () => {
  say(`${cpus().length} cores, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  say(`${SECONDS} s: ${POLLERS} feed pollers every ${POLL_MS} ms, ${POLICY} policy connections (${POLICY_GAP_MS} ms apart), ${WRITERS} CSR writers; ${SIZE} exceptions seeded`);
  const db = await openBenchDatabase('mixed');
  await seedExceptions(db.url, 0, SIZE);

  const tag = randomBytes(3).toString('hex');
  const domains = Array.from({ length: WRITERS }, (_, w) => `w${w}-${tag}.example.com`);
  const txt = new Map();
  const dns = startDns(domains, txt);
  const dnsPort = await freePort();
  await dns.listen({ udp: { port: dnsPort, address: '127.0.0.1' }, tcp: { port: dnsPort, address: '127.0.0.1' } });
  onCleanup(() => dns.close());

  const apiChild = startChild('mixed-api.mjs', {
    env: { DATABASE_URL: db.url, DNS_RESOLVERS: `127.0.0.1:${dnsPort}`, BENCH_WRITERS: String(WRITERS), LOG_LEVEL: 'warn' },
    label: 'api',
  });
  const { port, csrKeys, auditorKey, filterKey } = await apiChild.next('ready');
  const policyServer = await startPolicyServer(db.url);
  say(`API process ${apiChild.pid} on 127.0.0.1:${port}, policy server ${policyServer.pid} on 127.0.0.1:${policyServer.port}, DNS on 127.0.0.1:${dnsPort}`);

  // Each writer's organization and verified domain (before the load, not counted).
  const orgs = [];
  for (let w = 0; w < WRITERS; w += 1) {
    const org = await api(port, csrKeys[w], 'POST', '/v1/organizations', { name: `Mixed writer ${w}` });
    const domain = await api(port, csrKeys[w], 'POST', `/v1/organizations/${org.body?.id}/domains`, { name: domains[w] });
    if (org.status !== 201 || domain.status !== 201) {
      throw new Error(`setup of writer ${w}: organization ${org.status}, domain ${domain.status} ${JSON.stringify(domain.body)}`);
    }
    txt.set(domain.body.challenge.recordName.toLowerCase().replace(/\.$/, ''), domain.body.challenge.recordValue);
    const verified = await api(port, csrKeys[w], 'POST', `/v1/domains/${domain.body.id}/verify`);
    if (verified.status !== 200 || verified.body?.domain?.status !== 'verified') {
      throw new Error(`writer ${w}: domain not verified: ${verified.status} ${JSON.stringify(verified.body)}`);
    }
    orgs.push(org.body.id);
  }
  say(`${WRITERS} organizations with a verified domain each`);

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  onCleanup(() => client.end());
  const baseline = BigInt((await client.query('SELECT coalesce(max(seq), 0) AS seq FROM audit_events')).rows[0].seq);

  // --- the load -------------------------------------------------------------
  const loadBefore = loadavg();
  let running = true;
  const feed = { ok: 0, failed: 0, latencies: [], statuses: {} };
  const policy = { ok: 0, failed: 0, wrong: 0, latencies: [] };
  const writes = []; // { kind, writer, status, ms, id, value }
  const propagation = { feed: [], policy: [], missed: 0, sampling: false };

  const pollers = Array.from({ length: POLLERS }, async (_, i) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let etag;
    await sleep((i * POLL_MS) / POLLERS);
    while (running) {
      const started = performance.now();
      const result = await feedGet(port, filterKey, agent, etag);
      const ms = performance.now() - started;
      feed.statuses[result.status] = (feed.statuses[result.status] ?? 0) + 1;
      if (result.status === 200 || result.status === 304) {
        feed.ok += 1;
        feed.latencies.push(ms);
        etag = result.etag ?? etag;
      } else {
        feed.failed += 1;
      }
      await sleep(Math.max(0, POLL_MS - ms));
    }
    agent.destroy();
  });

  // Half the requests hit a seeded exception (its name and address), half miss (11.0.0.0/8 is never granted).
  const policyPool = Array.from({ length: 512 }, (_, n) => {
    if (n % 2 === 0) {
      const i = (n * 7919) % SIZE;
      const cidr = benchAddress(i);
      const address = cidr.endsWith('/64') ? cidr.replace('::/64', '::25') : cidr.slice(0, -3);
      return { text: policyRequest(`mx${i}.customer${i % 5000}.example`, address), want: 'action=OK\n\n' };
    }
    return { text: policyRequest(`mx${n}.miss.example`, `11.0.${n >> 8}.${n & 255}`), want: 'action=DUNNO\n\n' };
  });
  const policyLoops = Array.from({ length: POLICY }, async (_, c) => {
    let connection = await policyConnection(policyServer.port);
    for (let n = c * 17; running; n += 1) {
      const { text, want } = policyPool[n % policyPool.length];
      const started = performance.now();
      const answer = await connection.ask(text);
      if (answer === null) {
        policy.failed += 1;
        connection.close();
        connection = await policyConnection(policyServer.port).catch(() => null);
        if (connection === null) {
          await sleep(100);
          connection = await policyConnection(policyServer.port);
        }
      } else if (answer !== want) {
        policy.wrong += 1;
      } else {
        policy.ok += 1;
        policy.latencies.push(performance.now() - started);
      }
      await sleep(POLICY_GAP_MS);
    }
    connection.close();
  });

  const probeAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const probePolicy = await policyConnection(policyServer.port);
  /** From a grant's 201: until the feed lists the address, and until the policy server answers OK. */
  async function sample(helo, address, since) {
    propagation.sampling = true;
    const deadline = since + PROPAGATION_TIMEOUT_MS;
    const inFeed = (async () => {
      for (let etag; performance.now() < deadline; await sleep(2)) {
        const result = await feedGet(port, filterKey, probeAgent, etag);
        if (result.status === 200) {
          etag = result.etag;
          if (result.body.includes(`\n${address}/32 OK\n`) || result.body.startsWith(`${address}/32 OK\n`)) {
            return performance.now() - since;
          }
        }
      }
      return null;
    })();
    const inPolicy = (async () => {
      const text = policyRequest(helo, address);
      for (; performance.now() < deadline; await sleep(2)) {
        if ((await probePolicy.ask(text)) === 'action=OK\n\n') {
          return performance.now() - since;
        }
      }
      return null;
    })();
    const [f, p] = await Promise.all([inFeed, inPolicy]);
    for (const [list, value] of [[propagation.feed, f], [propagation.policy, p]]) {
      if (value === null) {
        propagation.missed += 1;
      } else {
        list.push(value);
      }
    }
    propagation.sampling = false;
  }
  const samples = [];

  const writerLoops = Array.from({ length: WRITERS }, async (_, w) => {
    const key = csrKeys[w];
    for (let cycle = 0; running; cycle += 1) {
      if (cycle < SERVERS_PER_WRITER) {
        const helo = `mx${cycle}.${domains[w]}`;
        const address = serverAddress(w, cycle);
        const server = await api(port, key, 'POST', `/v1/organizations/${orgs[w]}/mail-servers`, { heloHostname: helo, addresses: [address] });
        writes.push({ kind: 'mail server', writer: w, status: server.status, ms: server.ms, id: server.body?.id, detail: server.body });
        if (server.status === 201 && running) {
          const grant = await api(port, key, 'POST', '/v1/exceptions', { mailServerId: server.body.id, scope: 'pair', reason: 'mixed load' });
          const at = performance.now();
          const active = grant.status === 201 && grant.body?.status === 'active';
          writes.push({ kind: 'grant', writer: w, status: grant.status, active, ms: grant.ms, id: grant.body?.id, detail: grant.body });
          if (active && !propagation.sampling && running) {
            samples.push(sample(helo, address, at));
          }
        }
      }
      if (!running) {
        break;
      }
      const org = await api(port, key, 'POST', '/v1/organizations', { name: `Mixed ${w}.${cycle}` });
      writes.push({ kind: 'organization', writer: w, status: org.status, ms: org.ms, id: org.body?.id, detail: org.body });
      if (!running) {
        break;
      }
      const notes = `revision ${cycle} of writer ${w}`;
      const patch = await api(port, key, 'PATCH', `/v1/organizations/${orgs[w]}`, { notes });
      writes.push({ kind: 'organization patch', writer: w, status: patch.status, ms: patch.ms, id: orgs[w], value: notes, detail: patch.body });
    }
  });

  const cpuOf = () => ({ api: processCpuSeconds(apiChild.pid), policy: processCpuSeconds(policyServer.pid), generator: processCpuSeconds(process.pid), machine: machineBusySeconds() });
  const cpuBefore = cpuOf();
  const started = performance.now();
  const loadSamples = [];
  const loadTimer = setInterval(() => loadSamples.push(loadavg()[0]), 5000);
  await sleep(SECONDS * 1000);
  running = false;
  clearInterval(loadTimer);
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = cpuOf();
  await Promise.all([...pollers, ...policyLoops, ...writerLoops]);
  await Promise.all(samples);
  probeAgent.destroy();
  probePolicy.close();
  const loadAfter = loadavg();
  say(`load done after ${elapsed.toFixed(1)} s; load average ${loadBefore[0].toFixed(2)} before, ${loadAfter[0].toFixed(2)} after (1-min samples ${loadSamples.map((l) => l.toFixed(1)).join(' ')})`);

  // --- figures --------------------------------------------------------------
  const ok = (w) => typeof w.status === 'number' && w.status >= 200 && w.status < 300;
  const committed = writes.filter(ok);
  // A grant that is not active at once (waiting for approval) is committed but counts as failed: it proves nothing here.
  const failedWrites = writes.filter((w) => !ok(w) || (w.kind === 'grant' && !w.active));
  const writeLatencies = sorted(writes.map((w) => w.ms));
  const kinds = ['mail server', 'grant', 'organization', 'organization patch'];
  const pct = (values, p) => fmtMs(percentile(values, p));
  const rate = (bad, all) => (all === 0 ? 'n/a' : `${((100 * bad) / all).toFixed(3)} %`);
  const feedSorted = sorted(feed.latencies);
  const policySorted = sorted(policy.latencies);
  const policyBad = policy.failed + policy.wrong;
  console.log(`\nMixed load for ${elapsed.toFixed(0)} s on ${cpus().length} cores (load average ${loadBefore[0].toFixed(2)} → ${loadAfter[0].toFixed(2)}):\n`);
  console.log(
    table(
      ['traffic', 'requests', 'per s', 'errors', 'error rate', 'p50', 'p95', 'p99'],
      [
        [`feed polls (${POLLERS})`, feed.ok + feed.failed, ((feed.ok + feed.failed) / elapsed).toFixed(0), feed.failed, rate(feed.failed, feed.ok + feed.failed), pct(feedSorted, 50), pct(feedSorted, 95), pct(feedSorted, 99)],
        [`policy (${POLICY} conn.)`, policy.ok + policyBad, ((policy.ok + policyBad) / elapsed).toFixed(0), policyBad, rate(policyBad, policy.ok + policyBad), pct(policySorted, 50), pct(policySorted, 95), pct(policySorted, 99)],
        [`CSR writes (${WRITERS})`, writes.length, (writes.length / elapsed).toFixed(1), failedWrites.length, rate(failedWrites.length, writes.length), pct(writeLatencies, 50), pct(writeLatencies, 95), pct(writeLatencies, 99)],
        ...kinds.map((kind) => {
          const these = writes.filter((w) => w.kind === kind);
          const lat = sorted(these.map((w) => w.ms));
          const bad = failedWrites.filter((w) => w.kind === kind).length;
          return [`  ${kind}`, these.length, (these.length / elapsed).toFixed(1), bad, rate(bad, these.length), pct(lat, 50), pct(lat, 95), pct(lat, 99)];
        }),
      ],
    ),
  );
  const share = (k) => `${(((cpuAfter[k] - cpuBefore[k]) / elapsed) * 100).toFixed(0)} %`;
  const rest = cpuAfter.machine - cpuBefore.machine - ['api', 'policy', 'generator'].reduce((sum, k) => sum + cpuAfter[k] - cpuBefore[k], 0);
  console.log(
    `\nCPU during the load (100 % = one core of ${cpus().length}): API ${share('api')}, policy server ${share('policy')}, ` +
      `load generator ${share('generator')}, everything else (PostgreSQL, other work on the machine) ${((rest / elapsed) * 100).toFixed(0)} %`,
  );
  console.log(`feed statuses: ${JSON.stringify(feed.statuses)}; policy: ${policy.failed} failed, ${policy.wrong} wrong answers`);
  if (failedWrites.length > 0) {
    const byStatus = {};
    for (const w of failedWrites) {
      const k = `${w.kind} ${w.status}${w.kind === 'grant' && w.status === 201 ? ` ${w.detail?.status}` : ''}`;
      byStatus[k] = (byStatus[k] ?? 0) + 1;
    }
    console.log(`failed writes: ${JSON.stringify(byStatus)}; first: ${JSON.stringify(failedWrites[0].detail ?? failedWrites[0].status).slice(0, 400)}`);
  }
  const feedProp = sorted(propagation.feed);
  const policyProp = sorted(propagation.policy);
  console.log(`\nPropagation, from a grant's 201 (sampled one at a time during the load):\n`);
  console.log(
    table(
      ['until', 'samples', 'p50', 'p95', 'p99', 'max'],
      [
        ['the feed lists it', feedProp.length, pct(feedProp, 50), pct(feedProp, 95), pct(feedProp, 99), pct(feedProp, 100)],
        ['policy answers OK', policyProp.length, pct(policyProp, 50), pct(policyProp, 95), pct(policyProp, 99), pct(policyProp, 100)],
      ],
    ),
  );
  if (propagation.missed > 0) {
    console.log(`missed (not seen within ${PROPAGATION_TIMEOUT_MS} ms): ${propagation.missed}`);
  }

  // --- correctness under the load ------------------------------------------
  const checks = [];
  const ids = (kind) => committed.filter((w) => w.kind === kind).map((w) => w.id);
  const count = async (sql, values) => Number((await client.query(sql, values)).rows[0].n);
  const orgIds = ids('organization');
  const serverIds = ids('mail server');
  const grantIds = committed.filter((w) => w.kind === 'grant' && w.active).map((w) => w.id);
  const foundOrgs = await count('SELECT count(*) AS n FROM organizations WHERE id = ANY($1::uuid[])', [orgIds]);
  const foundServers = await count('SELECT count(*) AS n FROM mail_servers WHERE id = ANY($1::uuid[])', [serverIds]);
  const foundGrants = await count(`SELECT count(*) AS n FROM exceptions WHERE id = ANY($1::uuid[]) AND status = 'active'`, [grantIds]);
  const lastPatch = new Map();
  for (const w of committed.filter((x) => x.kind === 'organization patch')) {
    lastPatch.set(w.id, w.value);
  }
  const { rows: patched } = await client.query('SELECT id, notes FROM organizations WHERE id = ANY($1::uuid[])', [[...lastPatch.keys()]]);
  const patchesKept = patched.filter((row) => lastPatch.get(row.id) === row.notes).length;
  checks.push([
    `no lost update: ${foundOrgs}/${orgIds.length} organizations, ${foundServers}/${serverIds.length} mail servers, ${foundGrants}/${grantIds.length} active grants, ${patchesKept}/${lastPatch.size} last patches in the database`,
    foundOrgs === orgIds.length && foundServers === serverIds.length && foundGrants === grantIds.length && patchesKept === lastPatch.size,
  ]);

  const { rows: events } = await client.query('SELECT action, count(*)::int AS n FROM audit_events WHERE seq > $1 GROUP BY action ORDER BY action', [String(baseline)]);
  const eventCount = events.reduce((sum, e) => sum + e.n, 0);
  console.log(`\naudit events written during the load: ${events.map((e) => `${e.action} ${e.n}`).join(', ')}`);
  checks.push([`audit events during the load (${eventCount}) = committed writes (${committed.length})`, eventCount === committed.length]);

  // The chainer links right after commit: wait until nothing is left to link, then verify.
  let verify;
  for (const deadline = Date.now() + 60_000; ; await sleep(500)) {
    verify = await api(port, auditorKey, 'GET', '/v1/audit-events/verify');
    if ((verify.status === 200 && verify.body?.unchained === 0) || Date.now() > deadline) {
      break;
    }
  }
  const chained = await count('SELECT count(*) AS n FROM audit_chain');
  const allEvents = await count('SELECT count(*) AS n FROM audit_events');
  checks.push([
    `audit chain verifies: ${verify.status} valid=${verify.body?.valid}, ${verify.body?.checked} links checked, unchained ${verify.body?.unchained}, ${chained}/${allEvents} events linked (${fmtMs(verify.ms)})`,
    verify.status === 200 && verify.body?.valid === true && verify.body?.unchained === 0 && chained === allEvents,
  ]);

  const writeP95 = percentile(writeLatencies, 95);
  const propP99 = Math.max(percentile(feedProp, 99), percentile(policyProp, 99));
  const targets = [
    [`error rate 0 (feed ${feed.failed}, policy ${policyBad}, writes ${failedWrites.length}, propagation missed ${propagation.missed})`, feed.failed === 0 && policyBad === 0 && failedWrites.length === 0 && propagation.missed === 0],
    [`CSR write p95 <= ${WRITE_P95_TARGET} ms (${fmtMs(writeP95)})`, writeP95 <= WRITE_P95_TARGET],
    [`propagation p99 <= ${PROPAGATION_TARGET} ms (feed ${pct(feedProp, 99)}, policy ${pct(policyProp, 99)})`, feedProp.length > 0 && policyProp.length > 0 && propP99 <= PROPAGATION_TARGET],
  ];
  console.log('\nCorrectness under the load:');
  for (const [what, met] of checks) {
    console.log(`${met ? 'ok     ' : 'FAILED '}  ${what}`);
  }
  console.log('\nTargets:');
  for (const [what, met] of targets) {
    console.log(`${met ? 'met    ' : 'NOT MET'}  ${what}`);
  }
  return [...checks, ...targets].every(([, met]) => met) ? 0 : 3;
}, 15 * 60 + SECONDS);
