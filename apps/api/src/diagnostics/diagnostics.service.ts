import { Injectable } from '@nestjs/common';
import { brokenResolverDetail, DnsChecks, ResolverHealth, type DnsLookup, type DnsOutcome, type MxRecord } from '@app/dns';
import {
  InvalidAddressError,
  InvalidHostnameError,
  neverPublicReason,
  normalizeAddress,
  normalizeHeloHostname,
  OrganizationScope,
  postfixHeloVerdict,
  readHeloArgument,
  type HeloForm,
  type HeloLookupResult,
} from '@app/domain';
import { ExceptionsService, type ExceptionView } from '@app/exceptions';
import { MailServersService, OrganizationsService } from '@app/registry';
import { describeCoverage, type HeloCoverage } from './coverage.js';
import { heloAdvice } from './helo-advice.js';

export interface DnsAnswer {
  status: DnsOutcome<unknown>['status'] | 'skipped';
  records: string[];
  /** The resolver that said it, `address:port`. */
  resolver: string | null;
  error: string | null;
}

export interface HeloDiagnosis {
  syntax: { announced: string; form: HeloForm; normalized: string | null; valid: boolean; problem: string | null };
  /** Why the name can never resolve in the public DNS (special-use or not delegated), or null. */
  neverPublic: string | null;
  dns: { a: DnsAnswer; aaaa: DnsAnswer; mx: DnsAnswer };
  postfix: { rejected: boolean | null; reply: string | null; restriction: string | null; explanation: string };
  client: { address: string | null; problem: string | null; ptr: DnsAnswer } | null;
  owners: { organizationId: string; organizationName: string; organizationStatus: string; mailServerId: string }[];
  /** The exception in effect that lets this pair through, if any. */
  exception: ExceptionView | null;
  /** Which enforcement path lets the pair through: the policy server (exact), the cidr map (any HELO from the address), the HELO map. */
  coverage: HeloCoverage;
  advice: string[];
}

const SKIPPED: DnsAnswer = { status: 'skipped', records: [], resolver: null, error: null };

function answer<T>(outcome: DnsOutcome<T>, show: (record: T) => string): DnsAnswer {
  return {
    status: outcome.status,
    records: outcome.status === 'ok' ? outcome.records.map(show) : [],
    resolver: outcome.resolver === '' ? null : outcome.resolver,
    error: 'error' in outcome ? outcome.error : null,
  };
}

/** What Postfix's lookup would make of our answer. */
function lookupResult(outcome: DnsAnswer): HeloLookupResult {
  if (outcome.status === 'ok' && outcome.records.length > 0) {
    return 'found';
  }
  return outcome.status === 'nxdomain' || outcome.status === 'nodata' ? 'not_found' : 'unknown';
}

/** `10 mx.example.com`; a null MX (RFC 7505) as `0 .`. */
const showMx = (record: MxRecord) => `${record.priority} ${record.exchange === '' ? '.' : record.exchange}`;

/**
 * What a CSR reads to a customer on the phone: would Postfix refuse this HELO
 * name, why, who the server belongs to, and what to do about it.
 */
@Injectable()
export class DiagnosticsService {
  constructor(
    private readonly dnsChecks: DnsChecks,
    private readonly resolverHealth: ResolverHealth,
    private readonly servers: MailServersService,
    private readonly organizations: OrganizationsService,
    private readonly exceptions: ExceptionsService,
  ) {}

  /** A customer (a bound scope) sees only its own organization among the owners and exceptions. */
  async diagnoseHelo(helo: string, ip: string | undefined, scope: OrganizationScope = OrganizationScope.unrestricted): Promise<HeloDiagnosis> {
    // One DNS check per diagnosis: its lookups share one deadline (DNS_CHECK_DEADLINE_MS).
    const dns = this.dnsChecks.begin();
    try {
      return await this.diagnose(dns, helo, ip, scope);
    } finally {
      dns.end();
    }
  }

  private async diagnose(dns: DnsLookup, helo: string, ip: string | undefined, scope: OrganizationScope): Promise<HeloDiagnosis> {
    // The name as Postfix reads it, judged as Postfix judges it (libs/domain/src/postfix-helo.ts).
    const argument = readHeloArgument(helo);
    let normalized: string | null = null;
    if (argument.form === 'hostname') {
      try {
        normalized = normalizeHeloHostname(argument.name);
      } catch (error) {
        if (!(error instanceof InvalidHostnameError)) {
          throw error;
        }
      }
    }
    const neverPublic = argument.form === 'hostname' && argument.valid && normalized !== null ? neverPublicReason(normalized) : null;

    // Postfix's own lookup; for a name with a trailing dot (which Postfix never looks up) the
    // name without it, so the advice can say whether dropping the dot is enough.
    const dnsName = argument.lookup ?? (argument.form === 'hostname' && argument.valid ? normalized : null);
    const [a, aaaa, mx] = dnsName
      ? await Promise.all([
          dns.a(dnsName).then((outcome) => answer(outcome, String)),
          dns.aaaa(dnsName).then((outcome) => answer(outcome, String)),
          dns.mx(dnsName).then((outcome) => answer(outcome, showMx)),
        ])
      : [SKIPPED, SKIPPED, SKIPPED];
    const answers = [a, aaaa, mx];
    let postfix: HeloDiagnosis['postfix'] = postfixHeloVerdict(argument, argument.lookup === null ? [] : answers.map(lookupResult));
    let brokenResolver: string | null = null;
    if (argument.lookup !== null && postfix.rejected === true) {
      // "No such name" counts only from a resolver that finds the canary (DNS_CANARY_NAME).
      const broken = await this.resolverHealth.brokenAmong(answers);
      if (broken.size > 0) {
        brokenResolver = brokenResolverDetail(broken.values());
        postfix = {
          rejected: null,
          reply: null,
          restriction: 'reject_unknown_helo_hostname',
          explanation: `${brokenResolver}; whether Postfix would find the name cannot be told from here.`,
        };
      }
    }

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
      for (const server of page.items.filter((item) => scope.admits(item.organizationId))) {
        const organization = (await this.organizations.get(server.organizationId)).value;
        owners.push({
          organizationId: organization.id,
          organizationName: organization.name,
          organizationStatus: organization.status,
          mailServerId: server.id,
        });
      }
    }

    const [exception] = (await this.exceptions.covering(normalized, address)).filter((item) => scope.admits(item.organizationId));
    // A customer learns only of its own organization's exceptions, also through the maps.
    const found = await this.exceptions.mapCoverage(normalized, address);
    const maps = {
      cidr: found.cidr && scope.admits(found.cidr.organizationId) ? found.cidr : null,
      helo: found.helo && scope.admits(found.helo.organizationId) ? found.helo : null,
    };
    const coverage = describeCoverage(exception ? { id: exception.id, scope: exception.scope } : null, maps.cidr, maps.helo, normalized);
    const advice = heloAdvice({
      argument,
      normalized,
      neverPublic,
      postfix,
      brokenResolver,
      resolves: answers.some((item) => lookupResult(item) === 'found'),
      ptrNames: client?.ptr.records ?? [],
      clientAddress: client?.address ?? null,
      owners,
    });
    if (exception && postfix.rejected !== false) {
      advice.unshift(
        `An exception lets this server through until ${exception.expiresAt.toISOString()} (${exception.scope} scope); ` +
          'the filters enforcing it must be configured (see the allowlist feed or the policy server).',
      );
    }
    if (!exception && (maps.cidr || maps.helo)) {
      advice.unshift(coverage.explanation);
    }
    return {
      syntax: { announced: argument.shown, form: argument.form, normalized, valid: argument.valid, problem: argument.problem },
      neverPublic,
      dns: { a, aaaa, mx },
      postfix,
      client,
      owners,
      exception: exception ?? null,
      coverage,
      advice,
    };
  }
}
