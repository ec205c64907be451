import { Injectable } from '@nestjs/common';
import { DnsChecks, type DnsLookup, type DnsOutcome, type MxRecord } from '@app/dns';
import {
  InvalidAddressError,
  InvalidHostnameError,
  normalizeAddress,
  normalizeHeloHostname,
} from '@app/domain';
import { ExceptionsService, type ExceptionView } from '@app/exceptions';
import { MailServersService, OrganizationsService } from '@app/registry';

export interface DnsAnswer {
  status: DnsOutcome<unknown>['status'] | 'skipped';
  records: string[];
  resolver: string | null;
  error: string | null;
}

export interface HeloDiagnosis {
  syntax: { announced: string; normalized: string | null; valid: boolean; problem: string | null };
  dns: { a: DnsAnswer; aaaa: DnsAnswer; mx: DnsAnswer };
  postfix: { rejected: boolean | null; reply: string | null; restriction: string | null; explanation: string };
  client: { address: string | null; problem: string | null; ptr: DnsAnswer } | null;
  owners: { organizationId: string; organizationName: string; organizationStatus: string; mailServerId: string }[];
  /** The exception in effect that lets this pair through, if any. */
  exception: ExceptionView | null;
  advice: string[];
}

const SKIPPED: DnsAnswer = { status: 'skipped', records: [], resolver: null, error: null };

function answer<T>(outcome: DnsOutcome<T>, show: (record: T) => string): DnsAnswer {
  return {
    status: outcome.status,
    records: outcome.status === 'ok' ? outcome.records.map(show) : [],
    resolver: outcome.resolver,
    error: 'error' in outcome ? outcome.error : null,
  };
}

/** The announced name, safe to quote back: printable ASCII only, as Postfix would log it. */
function quotable(helo: string): string {
  return helo.replace(/[^\x21-\x7e]/g, '?');
}

/**
 * What a CSR reads to a customer on the phone: would Postfix refuse this HELO
 * name, why, who the server belongs to, and what to do about it.
 */
@Injectable()
export class DiagnosticsService {
  constructor(
    private readonly dnsChecks: DnsChecks,
    private readonly servers: MailServersService,
    private readonly organizations: OrganizationsService,
    private readonly exceptions: ExceptionsService,
  ) {}

  async diagnoseHelo(helo: string, ip: string | undefined): Promise<HeloDiagnosis> {
    // One DNS check per diagnosis: its lookups share one deadline (DNS_CHECK_DEADLINE_MS).
    const dns = this.dnsChecks.begin();
    try {
      return await this.diagnose(dns, helo, ip);
    } finally {
      dns.end();
    }
  }

  private async diagnose(dns: DnsLookup, helo: string, ip: string | undefined): Promise<HeloDiagnosis> {
    const announced = quotable(helo);
    let normalized: string | null = null;
    let problem: string | null = null;
    try {
      normalized = normalizeHeloHostname(helo);
    } catch (error) {
      if (!(error instanceof InvalidHostnameError)) {
        throw error;
      }
      problem = `the name ${error.message}`;
    }

    const [a, aaaa, mx] = normalized
      ? await Promise.all([
          dns.a(normalized).then((outcome) => answer(outcome, String)),
          dns.aaaa(normalized).then((outcome) => answer(outcome, String)),
          dns.mx(normalized).then((outcome) => answer(outcome, (record: MxRecord) => `${record.priority} ${record.exchange}`)),
        ])
      : [SKIPPED, SKIPPED, SKIPPED];
    const postfix = this.postfixVerdict(announced, normalized, problem, [a, aaaa, mx]);

    let client: HeloDiagnosis['client'] = null;
    let address: string | null = null;
    if (ip !== undefined) {
      try {
        address = normalizeAddress(ip);
        client = { address, problem: null, ptr: answer(await dns.ptr(address), String) };
      } catch (error) {
        if (!(error instanceof InvalidAddressError)) {
          throw error;
        }
        client = { address: null, problem: `the address ${error.message}`, ptr: SKIPPED };
      }
    }

    const owners: HeloDiagnosis['owners'] = [];
    if (normalized && address) {
      const page = await this.servers.list({ helo: normalized, address }, 20);
      for (const server of page.items) {
        const organization = (await this.organizations.get(server.organizationId)).value;
        owners.push({
          organizationId: organization.id,
          organizationName: organization.name,
          organizationStatus: organization.status,
          mailServerId: server.id,
        });
      }
    }

    const [exception] = await this.exceptions.covering(normalized, address);
    const advice = this.advice(announced, normalized, postfix, client, owners, helo.endsWith('.'));
    if (exception && postfix.rejected !== false) {
      advice.unshift(
        `An exception lets this server through until ${exception.expiresAt.toISOString()} (${exception.scope} scope); ` +
          'the filters enforcing it must be configured (see the allowlist feed or the policy server).',
      );
    }
    return {
      syntax: { announced, normalized, valid: normalized !== null, problem },
      dns: { a, aaaa, mx },
      postfix,
      client,
      owners,
      exception: exception ?? null,
      advice,
    };
  }

  /**
   * Postfix's checks, as smtpd(8) applies them: `reject_invalid_helo_hostname`
   * (bad syntax: 501 5.5.2 … Invalid name) and `reject_unknown_helo_hostname`
   * (no A, AAAA or MX record: unknown_hostname_reject_code, 450 by default,
   * 4.7.1 … Host not found). A DNS failure makes Postfix defer, not decide.
   */
  private postfixVerdict(
    announced: string,
    normalized: string | null,
    problem: string | null,
    answers: DnsAnswer[],
  ): HeloDiagnosis['postfix'] {
    if (!normalized) {
      return {
        rejected: true,
        reply: `501 5.5.2 <${announced}>: Helo command rejected: Invalid name`,
        restriction: 'reject_invalid_helo_hostname',
        explanation: `The name is not a valid host name (${problem}).`,
      };
    }
    if (answers.some((item) => item.status === 'ok' && item.records.length > 0)) {
      return {
        rejected: false,
        reply: null,
        restriction: null,
        explanation: 'The name has an A, AAAA or MX record, so reject_unknown_helo_hostname lets it through.',
      };
    }
    const failed = answers.filter((item) => ['timeout', 'servfail', 'refused', 'error'].includes(item.status));
    if (failed.length > 0) {
      return {
        rejected: null,
        reply: null,
        restriction: 'reject_unknown_helo_hostname',
        explanation: `DNS could not be read (${failed.map((item) => item.status).join(', ')}): Postfix would defer with a temporary error until it can tell. This is not the same as "no record".`,
      };
    }
    return {
      rejected: true,
      reply: `450 4.7.1 <${announced}>: Helo command rejected: Host not found`,
      restriction: 'reject_unknown_helo_hostname',
      explanation: 'The name has no A, AAAA or MX record in public DNS.',
    };
  }

  private advice(
    announced: string,
    normalized: string | null,
    postfix: HeloDiagnosis['postfix'],
    client: HeloDiagnosis['client'],
    owners: HeloDiagnosis['owners'],
    trailingDot: boolean,
  ): string[] {
    const advice: string[] = [];
    if (!normalized) {
      advice.push(`The server announces "${announced}", which is not a valid host name. Its administrator should set the mail server's host name to its real, public name.`);
    } else if (postfix.rejected === false) {
      advice.push(`"${normalized}" resolves in DNS, so our servers accept this HELO name. If mail is still refused, the server probably announces a different name: check its SMTP logs.`);
    } else if (postfix.rejected === null) {
      advice.push('DNS did not answer in time, so we cannot tell yet. Try again in a few minutes; if it persists, the customer\'s DNS servers may be unreachable.');
    } else {
      advice.push(`Our servers refuse "${normalized}" because it has no DNS address (A/AAAA) or MX record. The fix is to make the mail server announce its real public name, or to publish an A record for "${normalized}".`);
    }
    const ptrNames = client?.ptr.records ?? [];
    if (postfix.rejected && ptrNames.length > 0) {
      advice.push(`The sending address's reverse DNS name is ${ptrNames.join(', ')}; announcing that name in HELO (if it resolves) would fix the rejection.`);
    }
    if (trailingDot) {
      advice.push('The server announces the name with a trailing dot; some filters treat it as a different name.');
    }
    if (postfix.rejected) {
      if (owners.length > 0) {
        const suspended = owners.filter((owner) => owner.organizationStatus === 'suspended');
        advice.push(
          `This server is registered to ${owners.map((owner) => owner.organizationName).join(', ')}${suspended.length > 0 ? ' (suspended)' : ''}. If the name cannot be fixed soon, a special exception can be requested once ownership is proven (see the mail server's ownership).`,
        );
      } else if (client?.address) {
        advice.push('No registered mail server has this name and address. If the customer cannot fix the name, register the server under their organization and prove ownership before requesting an exception.');
      }
    }
    return advice;
  }
}
