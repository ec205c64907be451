// The resolver of the Postfix that scripts/mailhost/verify.sh asks about the
// HELO table: the suite's test DNS server (test/support/dns-server.ts),
// serving the zone of scripts/mailhost/helo-table.json on HOST:PORT (UDP and
// TCP). Postfix's resolver reads resolv.conf, which takes no port, so PORT is
// 53 on a loopback address of its own (127.0.0.2 by default).
//
//   npx tsx scripts/mailhost/helo-dns.ts [--host 127.0.0.2] [--port 53]
//
// Prints `listening HOST:PORT` once it answers; stops on SIGTERM or SIGINT.
import { loadHeloTable, serveHeloZone } from './helo-table.js';
import { startTestDnsServer } from '../../test/support/dns-server.js';

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : (process.argv[index + 1] ?? fallback);
}

const server = await startTestDnsServer({ host: arg('host', '127.0.0.2'), port: Number(arg('port', '53')) });
serveHeloZone(server, loadHeloTable());
console.log(`listening ${server.address}`);
const stop = () => {
  void server.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
