import type { Clock } from '@app/domain';
import { startTestDnsServer, type TestDnsServer } from './dns-server.js';
import { startTestApp, type TestApp } from './test-app.js';

/** Settings that make an app resolve through the test's DNS server only, with short time-outs and one try. */
export const resolvingThrough = (dns: TestDnsServer) => ({ DNS_RESOLVERS: dns.address, DNS_TIMEOUT_MS: '300', DNS_TRIES: '1' });

/** A test DNS server and the app resolving through it (the set-up most ownership and exception specs share). */
export async function startAppOnTestDns(env: Record<string, string> = {}, clock?: Clock): Promise<{ t: TestApp; dns: TestDnsServer }> {
  const dns = await startTestDnsServer();
  try {
    return { t: await startTestApp({ ...resolvingThrough(dns), ...env }, clock), dns };
  } catch (error) {
    await dns.stop();
    throw error;
  }
}

/** Stops what startAppOnTestDns started, whichever parts did start. */
export async function stopAppOnTestDns(t: TestApp | undefined, dns: TestDnsServer | undefined): Promise<void> {
  await t?.close();
  await dns?.stop();
}
