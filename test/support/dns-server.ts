import type { RemoteInfo } from 'node:dgram';
import { isIP, type Socket } from 'node:net';
import dns2, { Packet, type Question, type Resource, type TCPServer, type UDPServer } from 'dns2';
import ipaddr from 'ipaddr.js';

/**
 * A programmable authoritative DNS server on 127.0.0.1 (UDP and TCP on one random port) for
 * e2e specs: real answers over the wire, so the code under test runs through
 * c-ares exactly as in production. scripts/mailhost/helo-dns.ts runs it on a
 * fixed address and port 53 as the resolver of a real Postfix.
 *
 *     const dns = await startTestDnsServer();
 *     dns.txt('_mailmax-challenge.example.com', ['mailmax-verification=abc']);
 *     new DnsClient({ resolvers: [dns.address], timeoutMs: 300, tries: 1 });
 *     await dns.stop();
 *
 * Unknown names answer NXDOMAIN; a known name without records of the asked
 * type answers NOERROR with an empty answer (NODATA). Names compare without
 * regard to case (RFC 4343). The canary name HeloPass checks its resolvers
 * with (DNS_CANARY_NAME's default) is served unless `canary: false`.
 */
export interface TestDnsServer {
  /** `127.0.0.1:<port>` (UDP and TCP), as `DNS_RESOLVERS` takes it. */
  readonly address: string;
  readonly port: number;
  /** Every question received, in order, the name as the client spelled it. */
  readonly queries: ReadonlyArray<{ name: string; type: string }>;
  /**
   * When a CNAME is asked about for another type, also answer with the
   * target's records if this server knows them, as a recursive resolver does
   * (default). Off: answer with the CNAME alone, as an authoritative server
   * answers for a target outside its zone.
   */
  chaseCnames: boolean;
  /** Adds TXT records at `name`; each array is one record, each element one character-string (≤ 255 octets). */
  txt(name: string, ...records: string[][]): void;
  /**
   * Adds TXT records at `name`, each text one record cut into 255-octet
   * character-strings (as DNS control panels do): any length a DNS message
   * holds, so up to about 64 KB a record, sent over TCP (RFC 7766).
   */
  txtText(name: string, ...texts: string[]): void;
  cname(name: string, target: string): void;
  /** `ttl`: seconds the answer may be cached (default 60). */
  a(name: string, addresses: string[], ttl?: number): void;
  aaaa(name: string, addresses: string[]): void;
  mx(name: string, records: Array<{ exchange: string; priority: number }>): void;
  /** PTR records for an IPv4 or IPv6 address (or for a name already under in-addr.arpa / ip6.arpa). */
  ptr(address: string, names: string[]): void;
  /** Every question about `name` answers SERVFAIL. */
  servfail(name: string): void;
  /** Every question about `name` goes unanswered. */
  timeout(name: string): void;
  /**
   * Answers about `name` leave `ms` after their question came (0: at once
   * again): a slow authoritative server, or a check held in flight while a
   * test does something to the process waiting for it.
   */
  delay(name: string, ms: number): void;
  /** Forgets the records of one type at `name`, or everything about `name` (its behaviour too). */
  remove(name: string, type?: RecordType): void;
  /** Forgets every name; the query log is kept. */
  clear(): void;
  stop(): Promise<void>;
}

export type RecordType = 'A' | 'AAAA' | 'CNAME' | 'MX' | 'PTR' | 'TXT';

type RecordData =
  | { type: 'A' | 'AAAA'; address: string; ttl?: number }
  | { type: 'CNAME' | 'PTR'; domain: string }
  | { type: 'MX'; exchange: string; priority: number }
  | { type: 'TXT'; data: string[] };

interface NameEntry {
  records: Map<RecordType, RecordData[]>;
  behaviour?: 'servfail' | 'timeout';
  delayMs?: number;
}

const TTL = 60;
const MAX_CHASE = 16;
const TYPE_NAMES = new Map<number, string>(Object.entries(Packet.TYPE).map(([name, code]) => [code, name]));
const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;

function canonical(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** The reverse-mapping name of an address: RFC 1035 §3.5 (in-addr.arpa), RFC 3596 §2.5 (ip6.arpa). */
export function reverseName(address: string): string {
  if (isIP(address) === 0) {
    return canonical(address);
  }
  const bytes = ipaddr.parse(address).toByteArray();
  if (bytes.length === 4) {
    return `${bytes.reverse().join('.')}.in-addr.arpa`;
  }
  const nibbles = bytes.flatMap((byte) => [byte >> 4, byte & 0x0f].map((nibble) => nibble.toString(16)));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

export interface TestDnsServerOptions {
  /** Where to listen: 127.0.0.1 and a free port by default. */
  host?: string;
  port?: number;
  /**
   * Serve the canary name (DNS_CANARY_NAME's default, `a.root-servers.net`)
   * as the public DNS does, so the app's resolver check finds this server
   * healthy (default). Off: a server that answers NXDOMAIN for every name it
   * is not given, like a broken resolver.
   */
  canary?: boolean;
}

/** DNS_CANARY_NAME's default and its addresses in the public DNS (the root hints). */
export const CANARY_NAME = 'a.root-servers.net';
const CANARY_ADDRESSES = { a: '198.41.0.4', aaaa: '2001:503:ba3e::2:30' };

export async function startTestDnsServer(options: TestDnsServerOptions = {}): Promise<TestDnsServer> {
  const zone = new Map<string, NameEntry>();
  const queries: Array<{ name: string; type: string }> = [];
  /** Answers held back by `delay()`, dropped when the server stops. */
  const delayed = new Set<NodeJS.Timeout>();

  const entry = (name: string): NameEntry => {
    const key = canonical(name);
    let found = zone.get(key);
    if (found === undefined) {
      found = { records: new Map() };
      zone.set(key, found);
    }
    return found;
  };
  const add = (name: string, type: RecordType, data: RecordData[]): void => {
    const records = entry(name).records;
    records.set(type, [...(records.get(type) ?? []), ...data]);
  };

  const state = { chaseCnames: true };

  const addTxt = (name: string, ...records: string[][]): void => {
    for (const strings of records) {
      for (const text of strings) {
        // RFC 1035 §3.3: a <character-string> is one length octet and at most 255 octets.
        if (Buffer.byteLength(text) > 255) {
          throw new Error(`TXT character-string longer than 255 octets at ${name}; split it`);
        }
      }
    }
    add(
      name,
      'TXT',
      records.map((strings) => ({ type: 'TXT', data: strings })),
    );
  };

  const respond = (request: Packet, send: (response: Packet) => Promise<unknown>): void => {
    // Never answer a response: two servers pointed at each other would loop.
    if (request.header.qr === 1) {
      return;
    }
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    response.header.ra = 1;
    const question = request.questions[0];
    if (request.questions.length !== 1 || question === undefined || typeof question.name !== 'string') {
      response.header.rcode = RCODE.FORMERR;
    } else if (request.header.opcode !== 0) {
      response.header.rcode = RCODE.NOTIMP;
    } else {
      queries.push({ name: question.name, type: TYPE_NAMES.get(question.type) ?? `TYPE${question.type}` });
      const found = zone.get(canonical(question.name));
      if (found?.behaviour === 'timeout') {
        return;
      }
      if (found?.behaviour === 'servfail') {
        response.header.rcode = RCODE.SERVFAIL;
      } else {
        response.header.rcode = answer(question, response.answers);
      }
      if (found?.delayMs !== undefined && found.delayMs > 0) {
        const timer = setTimeout(() => {
          delayed.delete(timer);
          send(response).catch(() => undefined);
        }, found.delayMs);
        delayed.add(timer);
        return;
      }
    }
    send(response).catch(() => undefined);
  };

  /** Fills `answers` for the question and returns the RCODE. */
  const answer = (question: Question, answers: Resource[]): number => {
    const wanted = TYPE_NAMES.get(question.type);
    let owner = question.name;
    const seen = new Set<string>();
    for (let hop = 0; hop <= MAX_CHASE; hop++) {
      const key = canonical(owner);
      const found = zone.get(key);
      if (found === undefined) {
        // RFC 6604 §3: after a CNAME the RCODE describes the last name of the chain.
        return RCODE.NXDOMAIN;
      }
      seen.add(key);
      const records = wanted === undefined ? undefined : found.records.get(wanted as RecordType);
      if (records !== undefined && records.length > 0) {
        answers.push(...records.map((data) => resource(owner, data)));
        return RCODE.NOERROR;
      }
      // RFC 1034 §3.6.2: an alias carries no other data; the answer is the CNAME (and, chased, the target's records).
      const alias = found.records.get('CNAME')?.[0];
      if (alias === undefined || alias.type !== 'CNAME' || wanted === 'CNAME') {
        return RCODE.NOERROR;
      }
      answers.push(resource(owner, alias));
      if (!state.chaseCnames || seen.has(canonical(alias.domain))) {
        return RCODE.NOERROR;
      }
      owner = alias.domain;
    }
    return RCODE.NOERROR;
  };

  const handler = (request: Packet, send: (response: Packet) => unknown): void => {
    try {
      respond(request, (response) => Promise.resolve(send(response)));
    } catch {
      // A question this server cannot answer (an unencodable name, say) is dropped, never fatal.
    }
  };
  const serveCanary = (): void => {
    if (options.canary ?? true) {
      add(CANARY_NAME, 'A', [{ type: 'A', address: CANARY_ADDRESSES.a }]);
      add(CANARY_NAME, 'AAAA', [{ type: 'AAAA', address: CANARY_ADDRESSES.aaaa }]);
    }
  };
  serveCanary();
  const host = options.host ?? '127.0.0.1';
  const { udp, tcp, port } = await listenOnOnePort(handler, host, options.port);
  const connections = new Set<Socket>();
  tcp.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => connections.delete(socket));
  });

  return {
    address: `${host}:${port}`,
    port,
    queries,
    get chaseCnames() {
      return state.chaseCnames;
    },
    set chaseCnames(value: boolean) {
      state.chaseCnames = value;
    },
    txt: addTxt,
    txtText(name, ...texts) {
      for (const text of texts) {
        if (!/^[\x20-\x7e]*$/.test(text)) {
          throw new Error(`txtText takes printable ASCII only, at ${name}`);
        }
      }
      const strings = (text: string) => Array.from({ length: Math.max(1, Math.ceil(text.length / 255)) }, (_, i) => text.slice(i * 255, (i + 1) * 255));
      addTxt(name, ...texts.map(strings));
    },
    cname(name, target) {
      entry(name).records.set('CNAME', [{ type: 'CNAME', domain: target }]);
    },
    a(name, addresses, ttl) {
      add(
        name,
        'A',
        addresses.map((address) => ({ type: 'A', address, ttl })),
      );
    },
    aaaa(name, addresses) {
      add(
        name,
        'AAAA',
        addresses.map((address) => ({ type: 'AAAA', address })),
      );
    },
    mx(name, records) {
      add(
        name,
        'MX',
        records.map(({ exchange, priority }) => ({ type: 'MX', exchange, priority })),
      );
    },
    ptr(address, names) {
      add(
        reverseName(address),
        'PTR',
        names.map((domain) => ({ type: 'PTR', domain })),
      );
    },
    servfail(name) {
      entry(name).behaviour = 'servfail';
    },
    timeout(name) {
      entry(name).behaviour = 'timeout';
    },
    delay(name, ms) {
      entry(name).delayMs = ms;
    },
    remove(name, type) {
      if (type === undefined) {
        zone.delete(canonical(name));
      } else {
        zone.get(canonical(name))?.records.delete(type);
      }
    },
    clear() {
      zone.clear();
      serveCanary();
    },
    async stop() {
      delayed.forEach((timer) => clearTimeout(timer));
      delayed.clear();
      for (const socket of connections) {
        socket.destroy();
      }
      await Promise.all([
        new Promise<void>((resolve) => tcp.close(() => resolve())),
        new Promise<void>((resolve) => {
          try {
            udp.close(() => resolve());
          } catch {
            resolve(); // already closed
          }
        }),
      ]);
    },
  };
}

/**
 * UDP and TCP on one port, as a real server: c-ares sends no EDNS OPT, so an
 * answer over 512 octets goes back truncated (TC) over UDP and c-ares asks
 * again over TCP (RFC 1035 §4.2.1, RFC 7766).
 */
async function listenOnOnePort(
  handler: (request: Packet, send: (response: Packet) => unknown) => void,
  host: string,
  fixedPort: number | undefined,
): Promise<{ udp: UDPServer; tcp: TCPServer; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const udp = dns2.createUDPServer({ type: 'udp4' });
    udp.on('request', handler);
    udp.on('requestError', () => undefined);
    udp.on('error', () => undefined);
    // dns2 parses every record a header announces, throwing on each one
    // missing: a 12-octet packet claiming 65535 of each blocks for seconds.
    udp.removeAllListeners('message');
    udp.on('message', (data: Buffer, rinfo: RemoteInfo) => {
      if (isPlausibleQuery(data)) {
        udp.handle(data, rinfo);
      }
    });
    await udp.listen(fixedPort ?? 0, host);
    const { port } = udp.address();
    const tcp = dns2.createTCPServer(handler);
    tcp.on('requestError', () => undefined);
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, host, () => resolve(true));
    });
    if (listening) {
      tcp.on('error', () => undefined);
      return { udp, tcp, port };
    }
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (attempt >= 10 || fixedPort !== undefined) {
      throw new Error(`test DNS server: no port free for both UDP and TCP on ${host}`);
    }
  }
}

/** A query header (RFC 1035 §4.1.1): QR clear, one question, a handful of other records at most. */
function isPlausibleQuery(data: Buffer): boolean {
  if (data.length < 12 || ((data[2] ?? 0) & 0x80) !== 0) {
    return false;
  }
  const count = (offset: number) => data.readUInt16BE(offset);
  return count(4) <= 1 && count(6) + count(8) + count(10) <= 8;
}

function resource(owner: string, data: RecordData): Resource {
  const ttl = data.type === 'A' || data.type === 'AAAA' ? (data.ttl ?? TTL) : TTL;
  const base = { name: owner, class: Packet.CLASS.IN, ttl, type: Packet.TYPE[data.type] };
  switch (data.type) {
    case 'A':
    case 'AAAA':
      return new Packet.Resource({ ...base, address: data.address });
    case 'CNAME':
    case 'PTR':
      return new Packet.Resource({ ...base, domain: data.domain });
    case 'MX':
      return new Packet.Resource({ ...base, exchange: data.exchange, priority: data.priority });
    case 'TXT':
      // dns2 3 encodes an array as several <character-string>s in one RR (RFC 1035 §3.3.14).
      return new Packet.Resource({ ...base, data: data.data });
  }
}
