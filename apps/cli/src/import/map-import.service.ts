import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ApiKeysService, type ApiKeyView } from '@app/access';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { DnsChecks } from '@app/dns';
import { Clock, DomainError, RuleViolationError, type Actor, type ChangeContext } from '@app/domain';
import {
  approvalReasons,
  ExceptionsService,
  grantWindow,
  heloScopeRefusal,
  missingProof,
  restsOnSpfAlone,
  type ExceptionScope,
  type ExceptionStatus,
  type ExceptionView,
} from '@app/exceptions';
import { collectEvidence, DomainsService } from '@app/ownership';
import { parseAccessMap } from './access-map.js';
import { parseCidrMap } from './cidr-map.js';
import { MailServersService, OrganizationsService, type MailServer } from '@app/registry';
import { placeholderHelo } from './placeholder-helo.js';
import type { MapEntry } from './postfix-map.js';
import type { ImportObserver, ImportRequest, ImportSummary, LineReport } from './import.types.js';

const RUNNING: readonly ExceptionStatus[] = ['pending_approval', 'active', 'suspended'];
const CLI_ACTOR: Actor = { id: null, name: 'system:cli', role: 'system', owner: null };
const PAGE = 200;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The owner of the import's own admin key: not a person, so that every real
 * admin (every other owner) may approve what the import requests.
 */
export const IMPORT_KEY_OWNER = 'import';

interface Run {
  request: ImportRequest;
  organizationId: string;
  scope: ExceptionScope;
  verifiedDomains: string[];
  expiresAt: Date | undefined;
  durationMs: number;
  requestId: string;
  actor(): Promise<Actor>;
}

/**
 * Imports a hand-kept Postfix map: each line that accepts a client becomes a
 * mail server of the organization (found again when it exists) and an
 * exception granted through ExceptionsService — the API's path, with its
 * ownership gate and four-eyes rules. A cidr_table line gives an `ip`
 * exception for a server with a placeholder HELO name; an access-map line a
 * `helo` exception for a server with that name and the `--address`es.
 * Grants whose ownership is unproven are refused, or with a justification
 * made overrides that wait for a second admin. A dry run reads and predicts
 * but writes nothing.
 */
@Injectable()
export class MapImportService {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly servers: MailServersService,
    private readonly exceptions: ExceptionsService,
    private readonly domains: DomainsService,
    private readonly apiKeys: ApiKeysService,
    private readonly clock: Clock,
    private readonly dnsChecks: DnsChecks,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  async import(request: ImportRequest, observer: ImportObserver): Promise<ImportSummary> {
    const organization = (await this.organizations.get(request.organizationId)).value;
    if (organization.status !== 'active') {
      throw new RuleViolationError('the organization is suspended; reactivate it before importing');
    }
    const now = this.clock.now();
    const expiresAt = request.expiresInMs === undefined ? undefined : new Date(now.getTime() + request.expiresInMs);
    const window = grantWindow({ expiresAt }, now, this.config.exceptions);
    if ('problem' in window) {
      throw new RuleViolationError(window.problem);
    }
    const existingKey = await this.findKey(request.keyName);
    const entries = request.format === 'postfix-cidr' ? parseCidrMap(request.text) : parseAccessMap(request.text);
    const summary: ImportSummary = {
      lines: entries.length,
      entries: entries.filter((entry) => entry.kind === 'accept').length,
      imported: 0,
      active: 0,
      pendingApproval: 0,
      skipped: 0,
      refused: 0,
      serversCreated: 0,
      serversReused: 0,
      pending: [],
      actor: { id: existingKey?.id ?? null, name: request.keyName, created: false },
    };
    let actor: Promise<Actor> | undefined;
    const run: Run = {
      request,
      organizationId: organization.id,
      scope: request.format === 'postfix-cidr' ? 'ip' : 'helo',
      verifiedDomains: await this.verifiedDomains(organization.id),
      expiresAt,
      durationMs: window.expiresAt.getTime() - window.startsAt.getTime(),
      requestId: `import-${randomUUID()}`,
      // The key is made only when the first write needs it (never in a dry run).
      actor: () =>
        (actor ??= (async () => {
          const key = existingKey ?? (await this.createKey(request.keyName));
          summary.actor = { id: key.id, name: key.name, created: existingKey === undefined };
          return { id: key.id, name: key.name, role: 'admin', owner: key.owner };
        })()),
    };
    observer.start({
      organization: { id: organization.id, name: organization.name },
      format: request.format,
      source: request.source,
      dryRun: request.dryRun,
      actor: { id: existingKey?.id ?? null, name: request.keyName },
      requestId: run.requestId,
      lines: summary.lines,
      entries: summary.entries,
    });
    for (const entry of entries) {
      const report: LineReport =
        entry.kind === 'accept'
          ? await this.importEntry(run, entry)
          : { line: entry.line, lastLine: entry.lastLine, text: entry.text, outcome: entry.kind, reason: entry.reason, notes: [] };
      this.tally(summary, report);
      observer.line(report);
    }
    return summary;
  }

  private tally(summary: ImportSummary, report: LineReport): void {
    summary[report.outcome] += 1;
    if (report.outcome !== 'imported') {
      return;
    }
    if (report.mailServer?.created) {
      summary.serversCreated += 1;
    } else {
      summary.serversReused += 1;
    }
    if (report.exception?.status === 'active') {
      summary.active += 1;
    } else if (report.exception?.status === 'pending_approval') {
      summary.pendingApproval += 1;
      if (report.exception.id) {
        summary.pending.push(report.exception.id);
      }
    }
  }

  private async importEntry(run: Run, entry: Extract<MapEntry, { kind: 'accept' }>): Promise<LineReport> {
    const { request, scope } = run;
    const base = { line: entry.line, lastLine: entry.lastLine, text: entry.text, notes: [...entry.notes] };
    const running = await this.runningException(run, entry.key);
    if (running) {
      const what = scope === 'ip' ? `an ip exception for ${running.addresses.join(', ')}` : `a helo exception for ${running.heloHostname}`;
      return { ...base, outcome: 'skipped', reason: `already has ${what} that is ${running.status} (${running.id})` };
    }
    const heloHostname = scope === 'ip' ? placeholderHelo(entry.key) : entry.key;
    const addresses = scope === 'ip' ? [entry.key] : request.addresses;
    const existing = await this.reusableServer(run, heloHostname, addresses);
    const claims = existing ?? { heloHostname, addresses };
    const plannedServer = { id: existing?.id ?? null, heloHostname: claims.heloHostname, addresses: claims.addresses, created: !existing };

    // Refused before anything is written, as the grant would refuse it.
    const refusal = heloScopeRefusal(scope, claims.heloHostname);
    if (refusal !== null) {
      return { ...base, outcome: 'refused', reason: refusal };
    }
    // Ownership as the grant will find it (read only: OwnershipService.check would store it).
    let override = request.justification !== undefined;
    let spfOnly = false;
    if (request.dryRun || request.justification === undefined) {
      // One DNS check (deadline, memo) per entry, as for OwnershipService.check.
      const check = this.dnsChecks.begin();
      const evidence = await collectEvidence(claims, run.verifiedDomains, check).finally(() => check.end());
      const missing = missingProof(scope, evidence);
      spfOnly = restsOnSpfAlone(scope, evidence);
      if (missing.length > 0 && request.justification === undefined) {
        return {
          ...base,
          outcome: 'refused',
          reason: `ownership is not proven (${missing.join('; ')}); give --justification to import it as an override that a second admin approves`,
        };
      }
      override = missing.length > 0;
    }
    if (request.dryRun) {
      const reasons = approvalReasons({ scope, override, spfOnly, addresses: claims.addresses, durationMs: run.durationMs }, this.config.exceptions);
      return {
        ...base,
        outcome: 'imported',
        mailServer: plannedServer,
        exception: { id: null, scope, status: reasons.length > 0 ? 'pending_approval' : 'active', override, approvalReasons: reasons },
      };
    }

    const context: ChangeContext = { actor: await run.actor(), requestId: run.requestId };
    let server = existing;
    try {
      server ??= await this.createServer(run, entry, heloHostname, addresses, context);
      const granted = await this.exceptions.grant(
        {
          mailServerId: server.id,
          scope,
          reason: clip(`${request.reason} (${request.source} line ${entry.line}: ${entry.text})`, 2000),
          ticketRef: request.ticketRef,
          expiresAt: run.expiresAt,
          justification: request.justification,
        },
        context,
      );
      return { ...base, outcome: 'imported', mailServer: { ...plannedServer, id: server.id }, exception: this.exceptionReport(granted.value) };
    } catch (error) {
      if (!(error instanceof DomainError)) {
        throw error;
      }
      const notes = server && !existing ? [...base.notes, `mail server ${server.heloHostname} (${server.id}) was created and is kept`] : base.notes;
      return { ...base, notes, outcome: 'refused', reason: error.message };
    }
  }

  private exceptionReport(view: ExceptionView): NonNullable<LineReport['exception']> {
    return { id: view.id, scope: view.scope, status: view.status, override: view.override, approvalReasons: view.approvalReasons };
  }

  /** A running (pending, active or suspended) exception of the organization that already covers the key. */
  private async runningException(run: Run, key: string): Promise<ExceptionView | undefined> {
    const filter =
      run.scope === 'ip'
        ? { organizationId: run.organizationId, scope: run.scope, containing: key }
        : { organizationId: run.organizationId, scope: run.scope, heloHostname: key };
    let cursor: string | undefined;
    do {
      const page = await this.exceptions.list(filter, PAGE, cursor);
      const found = page.items.find((item) => RUNNING.includes(item.status));
      if (found) {
        return found;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return undefined;
  }

  /**
   * A server of the organization to grant on instead of creating one: same
   * HELO name, and for a prefix exactly that address (an `ip` exception
   * covers all of a server's addresses); for a HELO name at least the given
   * addresses.
   */
  private async reusableServer(run: Run, heloHostname: string, addresses: string[]): Promise<MailServer | undefined> {
    const servers = (await this.servers.list({ organizationId: run.organizationId, helo: heloHostname }, PAGE)).items;
    return servers.find((server) =>
      run.scope === 'ip'
        ? server.addresses.length === 1 && server.addresses[0] === addresses[0]
        : addresses.every((address) => server.addresses.includes(address)),
    );
  }

  /** A new mail server, through the same service (rules and audit) as the API's. */
  private async createServer(
    run: Run,
    entry: MapEntry,
    heloHostname: string,
    addresses: string[],
    context: ChangeContext,
  ): Promise<MailServer> {
    const origin = `${run.request.source} line ${entry.line} (${clip(entry.text, 200)})`;
    const description =
      run.scope === 'ip'
        ? `placeholder HELO name: imported from ${origin}, a cidr_table that names no HELO name; rename it to the name the server announces`
        : `imported from ${origin}; addresses given with --address`;
    const created = await this.servers.create(
      run.organizationId,
      { heloHostname, addresses, description: clip(description, 1000) },
      context,
    );
    return created.value;
  }

  private async verifiedDomains(organizationId: string): Promise<string[]> {
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.domains.listForOrganization(organizationId, PAGE, cursor);
      names.push(...page.items.filter((domain) => domain.status === 'verified').map((domain) => domain.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return names.sort();
  }

  /** The one active admin key with this name, if there is one. */
  private async findKey(name: string): Promise<ApiKeyView | undefined> {
    const now = this.clock.now();
    const matches: ApiKeyView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.apiKeys.list(PAGE, cursor);
      matches.push(...page.items.filter((key) => key.name === name && !key.revokedAt && !(key.expiresAt && key.expiresAt <= now)));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    if (matches.length > 1) {
      throw new RuleViolationError(`${matches.length} active API keys are named "${name}"; choose one name with --as-key-name`);
    }
    const key = matches[0];
    if (key && key.role !== 'admin') {
      throw new RuleViolationError(
        `the API key named "${name}" is a ${key.role} key; an import grants as an admin (overrides need one): name an admin key with --as-key-name`,
      );
    }
    return key;
  }

  /**
   * The import's own admin key: an identity for `requestedBy` and the audit
   * trail. Its secret is not kept or shown — nobody signs in with it — and
   * the approvals its requests need must come from another key.
   */
  private async createKey(name: string): Promise<ApiKeyView> {
    const { key: _secret, ...view } = await this.apiKeys.create({ name, role: 'admin', owner: IMPORT_KEY_OWNER, expiresAt: null }, CLI_ACTOR);
    return view;
  }
}
