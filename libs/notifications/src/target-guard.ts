import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { DnsConfig } from '@app/config';
import { DnsClient } from '@app/dns';
import type { TargetPolicy } from './target-policy.js';

/** Where one request may go: the address checked, which the connection must use (no second lookup). */
export interface AdmittedTarget {
  readonly kind: 'admitted';
  readonly address: string;
  readonly family: 4 | 6;
}

/** The target is one we will not reach (a fact about the URL: retrying changes nothing). */
export interface RefusedTarget {
  readonly kind: 'refused';
  readonly reason: string;
}

/** The name could not be resolved now (may work later). */
export interface UnresolvedTarget {
  readonly kind: 'unresolved';
  readonly reason: string;
}

export type TargetDecision = AdmittedTarget | RefusedTarget | UnresolvedTarget;

/** `[2001:db8::1]` as URL.hostname gives it, without the brackets. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * Resolves a webhook URL's host and judges every address it resolves to
 * (DESIGN: delivery refused to loopback, private and link-local addresses,
 * checked after DNS resolution, on every redirect). One bad address among
 * several refuses the target: the connection could otherwise be steered to
 * it. The caller connects to the address admitted here and to no other, so
 * an answer that changes between the check and the connection (DNS
 * rebinding) cannot move it.
 */
export class TargetGuard {
  private readonly client: DnsClient | undefined;

  constructor(
    private readonly policy: TargetPolicy,
    dnsConfig: DnsConfig,
  ) {
    // The system's resolver (with /etc/hosts) unless DNS_RESOLVERS names others.
    this.client = dnsConfig.resolvers.length === 0 ? undefined : new DnsClient(dnsConfig);
  }

  async admit(url: URL): Promise<TargetDecision> {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return { kind: 'refused', reason: `${url.protocol} URLs are not delivered to (http or https only)` };
    }
    const host = bareHost(url.hostname);
    const resolved = isIP(host) !== 0 ? { addresses: [host] } : await this.resolve(host);
    if ('reason' in resolved) {
      return { kind: 'unresolved', reason: resolved.reason };
    }
    for (const address of resolved.addresses) {
      const refusal = this.policy.refusal(address);
      if (refusal !== null) {
        const what = host === address ? `${address} is ${refusal}` : `${host} resolves to ${address}, ${refusal}`;
        return { kind: 'refused', reason: `${what} (not allowed by WEBHOOK_ALLOW_PRIVATE_TARGETS)` };
      }
    }
    if (url.protocol === 'http:' && resolved.addresses.some((address) => this.policy.isPublic(address))) {
      return { kind: 'refused', reason: 'plain http is delivered only to internal receivers allowed by WEBHOOK_ALLOW_PRIVATE_TARGETS; use https' };
    }
    const address = resolved.addresses[0]!;
    return { kind: 'admitted', address, family: isIP(address) === 6 ? 6 : 4 };
  }

  private async resolve(host: string): Promise<{ addresses: string[] } | { reason: string }> {
    if (this.client === undefined) {
      try {
        const found = await dns.lookup(host, { all: true, verbatim: true });
        return found.length > 0 ? { addresses: found.map((entry) => entry.address) } : { reason: `${host} has no address` };
      } catch (error) {
        return { reason: `${host} could not be resolved (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
      }
    }
    const [a, aaaa] = await Promise.all([this.client.a(host), this.client.aaaa(host)]);
    const addresses = [...(a.status === 'ok' ? a.records : []), ...(aaaa.status === 'ok' ? aaaa.records : [])];
    if (addresses.length > 0) {
      return { addresses };
    }
    const trouble = [a, aaaa].find((outcome) => outcome.status !== 'ok' && outcome.status !== 'nxdomain' && outcome.status !== 'nodata');
    return { reason: trouble === undefined ? `${host} has no address` : `${host} could not be resolved (${trouble.status})` };
  }
}
