import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { AuditLog, databaseUnavailability, NotificationHub } from '@app/database';
import {
  apiKeyHashMatches,
  apiKeyPrefix,
  Clock,
  ForbiddenActionError,
  generateApiKeySecret,
  hashApiKeySecret,
  InvalidFieldError,
  InvalidOwnerError,
  isPersonRole,
  isWellFormedApiKey,
  normalizeOwner,
  NotFoundError,
  RuleViolationError,
  cursorPosition,
  toPage,
  type Actor,
  type Page,
  type Role,
} from '@app/domain';
import { ApiKeysRepository, type ApiKeyRecord } from './api-keys.repository.js';
import { KeyCache } from './key-cache.js';
import { FilterKeysFile } from './filter-keys-file.js';

/** An API key as shown to admins: never the secret, never its hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  role: Role;
  /** The person behind the key (for a filter key: the host it serves, if named). */
  owner: string | null;
  /** The one organization a `customer` key may see; null for every other role. */
  organizationId: string | null;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export interface CreatedApiKey extends ApiKeyView {
  /** The secret, returned once at creation and never stored. */
  key: string;
}

export interface AuthenticatedKey {
  id: string;
  name: string;
  role: Role;
  owner: string | null;
  organizationId: string | null;
}

/** Why a presented key was refused (logged, never told to the caller). */
export type AuthenticationFailure = 'malformed' | 'unknown' | 'revoked' | 'expired';

export type AuthenticationResult = { key: AuthenticatedKey } | { failure: AuthenticationFailure };

/** `lastUsedAt` is refreshed at most this often per key, not written on every request. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;
/**
 * A key looked up in the database is trusted from memory this long, so that
 * polling mail filters cost no database work. A revocation anywhere is
 * announced with NOTIFY and clears every process's memory at once. While the
 * database cannot be reached, keys already known keep working (the feed keeps
 * serving its last snapshot to them).
 */
const KEY_CACHE_MS = 60_000;
/** Keys, and separately unknown prefixes, remembered at most (LRU). */
const KEY_CACHE_ENTRIES = 10_000;
/** While the database is down, one key lookup a second checks whether it is back. */
const KEY_PROBE_INTERVAL_MS = 1000;
export const KEYS_CHANNEL = 'helopass_keys';
/** Key changes closer together than this are written to disk once. */
const FILTER_KEYS_WRITE_DELAY_MS = 1000;

/** Owners of keys made before owners existed (see the migration); nobody new may take such a name. */
const LEGACY_OWNER_PREFIX = 'legacy-key-';

/**
 * The owner a new key records: required for a person's role (admin, csr,
 * auditor), optional for a filter key; normalized, so that one person is one
 * owner however it is spelled.
 */
function keyOwner(role: Role, input: string | null | undefined): string | null {
  if (input === undefined || input === null) {
    if (isPersonRole(role)) {
      throw new InvalidFieldError('owner', 'is required for admin, csr, auditor and customer keys: the e-mail address or directory handle of the person');
    }
    return null;
  }
  let owner: string;
  try {
    owner = normalizeOwner(input);
  } catch (error) {
    throw error instanceof InvalidOwnerError ? new InvalidFieldError('owner', error.message) : error;
  }
  if (owner.startsWith(LEGACY_OWNER_PREFIX)) {
    throw new InvalidFieldError('owner', `must not start with ${LEGACY_OWNER_PREFIX}, which names keys made before owners existed`);
  }
  return owner;
}

function toView(record: ApiKeyRecord): ApiKeyView {
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    owner: record.owner,
    organizationId: record.organizationId,
    prefix: record.prefix,
    createdAt: record.createdAt,
    lastUsedAt: record.lastUsedAt,
    expiresAt: record.expiresAt,
    revokedAt: record.revokedAt,
  };
}

@Injectable()
export class ApiKeysService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ApiKeysService.name);
  private readonly lastUsedWrites = new Map<string, number>();
  private readonly cache: KeyCache<ApiKeyRecord>;

  private unsubscribe: (() => void) | undefined;
  private readonly filterKeysFile: FilterKeysFile;
  private filterKeysTimer: NodeJS.Timeout | undefined;
  private filterKeysWriting: Promise<void> | undefined;

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly audit: AuditLog,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
    // Expiry and lastUsedAt follow the injected clock, like every other rule in time.
    private readonly clock: Clock,
    private readonly notifications: NotificationHub,
  ) {
    this.cache = new KeyCache((prefix) => this.keys.findByPrefix(prefix), {
      ttlMs: KEY_CACHE_MS,
      maxEntries: KEY_CACHE_ENTRIES,
      lookupTimeoutMs: config.database.connectTimeoutMs,
      probeIntervalMs: KEY_PROBE_INTERVAL_MS,
    });
    this.filterKeysFile = new FilterKeysFile(config.snapshot.dir);
  }

  /**
   * Hears creations and revocations made by any process. While the hub does
   * not listen (a lost connection), nothing is taken from memory; once it
   * listens again, everything remembered is forgotten (it may have missed one)
   * and keys are looked up again at once (the database is back).
   */
  async onModuleInit(): Promise<void> {
    this.unsubscribe = this.notifications.subscribe(KEYS_CHANNEL, {
      onNotification: () => {
        this.cache.clear();
        this.writeFilterKeysSoon();
      },
      onListening: () => {
        this.cache.clearAfterReconnect();
        this.writeFilterKeysSoon();
      },
    });
    if (!(await this.notifications.settled())) {
      await this.rememberFilterKeysFromDisk();
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    clearTimeout(this.filterKeysTimer);
    await this.filterKeysWriting;
  }

  /**
   * Started while the database cannot be reached: the filter keys written
   * last let the mail filters in meanwhile (checked against their hashes like
   * any key); each is looked up again once the database answers.
   */
  private async rememberFilterKeysFromDisk(): Promise<void> {
    try {
      const keys = await this.filterKeysFile.read();
      keys.forEach((key) => this.cache.remember(key.prefix, key));
      this.logger.warn({ path: this.filterKeysFile.path, keys: keys.length }, 'the database cannot be reached: filter keys are checked against the copy on disk');
    } catch (error) {
      this.logger.error(
        { anomaly: 'filter-keys-file-refused', path: this.filterKeysFile.path, err: error instanceof Error ? error.message : error },
        'the filter keys on disk were refused; filters get 503 until the database can be read',
      );
    }
  }

  /** Keeps the copy on disk of the active filter keys up to date (once per burst of key changes). */
  private writeFilterKeysSoon(): void {
    if (this.filterKeysFile.path === null || this.filterKeysTimer !== undefined) {
      return;
    }
    this.filterKeysTimer = setTimeout(() => {
      this.filterKeysWriting = (async () => {
        try {
          await this.filterKeysFile.write(await this.keys.activeFilterKeys(this.clock.now()));
        } catch (error) {
          if (databaseUnavailability(error) === undefined) {
            this.logger.warn({ err: error instanceof Error ? error.message : error }, 'could not write the filter keys to disk');
          }
        } finally {
          this.filterKeysTimer = undefined;
          this.filterKeysWriting = undefined;
        }
      })();
    }, FILTER_KEYS_WRITE_DELAY_MS);
    this.filterKeysTimer.unref();
  }

  /**
   * Mints a key. An admin mints any; a CSR mints only `customer` keys (for
   * the customer's IT staff). A customer key names the one organization it
   * may see, and only a customer key names one.
   */
  async create(
    input: { name: string; role: Role; owner?: string | null; expiresAt?: Date | null; organizationId?: string | null },
    actor: Actor,
    requestId?: string,
  ): Promise<CreatedApiKey> {
    if (actor.role !== 'admin' && actor.role !== 'system' && input.role !== 'customer') {
      throw new ForbiddenActionError('a csr may mint customer keys only; other keys are minted by an admin');
    }
    const owner = keyOwner(input.role, input.owner);
    const organizationId = input.organizationId ?? null;
    if (input.role === 'customer' && organizationId === null) {
      throw new InvalidFieldError('organizationId', 'is required for a customer key: the one organization it may see');
    }
    if (organizationId !== null && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(organizationId)) {
      throw new InvalidFieldError('organizationId', 'must be a UUID');
    }
    if (input.role !== 'customer' && organizationId !== null) {
      throw new InvalidFieldError('organizationId', 'binds customer keys only; other roles are not bound to an organization');
    }
    if (input.expiresAt && input.expiresAt.getTime() <= this.clock.now().getTime()) {
      throw new RuleViolationError('expiresAt must be in the future');
    }
    const secret = generateApiKeySecret();
    const record = await this.keys.transaction(async (tx) => {
      if (organizationId !== null && !(await this.keys.organizationExists(tx, organizationId))) {
        throw new NotFoundError('organization');
      }
      const created = await this.keys.insert(tx, {
        name: input.name,
        role: input.role,
        owner,
        organizationId,
        prefix: apiKeyPrefix(secret),
        secretHash: hashApiKeySecret(secret),
        expiresAt: input.expiresAt ?? null,
      });
      await this.keys.announceChange(tx, created.prefix);
      await this.audit.append(tx, {
        actor,
        action: 'api_key.created',
        entityType: 'api_key',
        entityId: created.id,
        organizationId: organizationId ?? undefined,
        after: toView(created),
        requestId,
      });
      return created;
    });
    this.cache.forget(record.prefix);
    return { ...toView(record), key: secret };
  }

  async list(limit: number, cursor?: string): Promise<Page<ApiKeyView>> {
    const after = cursorPosition(cursor);
    const rows = await this.keys.list(limit + 1, after);
    return toPage(rows, limit, toView, (row) => ({ at: row.createdAt, id: row.id }));
  }

  async revoke(id: string, actor: Actor, requestId?: string): Promise<ApiKeyView> {
    return this.keys.transaction(async (tx) => {
      const existing = await this.keys.findById(tx, id);
      if (!existing) {
        throw new NotFoundError('API key');
      }
      if (actor.role !== 'admin' && actor.role !== 'system' && existing.role !== 'customer') {
        throw new ForbiddenActionError('a csr may revoke customer keys only; other keys are revoked by an admin');
      }
      if (existing.revokedAt) {
        return toView(existing);
      }
      const revoked = await this.keys.revoke(tx, id, this.clock.now());
      this.cache.forget(revoked.prefix);
      await this.keys.announceChange(tx, revoked.prefix);
      await this.audit.append(tx, {
        actor,
        action: 'api_key.revoked',
        entityType: 'api_key',
        entityId: id,
        before: toView(existing),
        after: toView(revoked),
        requestId,
      });
      return toView(revoked);
    });
  }

  /**
   * The key a request presents, if it is known, unrevoked and unexpired, or
   * why not. Throws DatabaseUnavailableError when the key is not known to
   * this process and the database cannot be asked.
   */
  async authenticate(secret: string): Promise<AuthenticationResult> {
    if (!isWellFormedApiKey(secret)) {
      return { failure: 'malformed' };
    }
    const record = await this.cache.find(apiKeyPrefix(secret), this.notifications.isListening(KEYS_CHANNEL));
    const now = this.clock.now().getTime();
    if (!record || !apiKeyHashMatches(secret, record.secretHash)) {
      return { failure: 'unknown' };
    }
    if (record.revokedAt) {
      return { failure: 'revoked' };
    }
    if (record.expiresAt && record.expiresAt.getTime() <= now) {
      return { failure: 'expired' };
    }
    this.noteUse(record.id, now);
    return { key: { id: record.id, name: record.name, role: record.role, owner: record.owner, organizationId: record.organizationId } };
  }

  private noteUse(id: string, now: number): void {
    const lastWrite = this.lastUsedWrites.get(id) ?? 0;
    if (now - lastWrite < LAST_USED_WRITE_INTERVAL_MS) {
      return;
    }
    this.lastUsedWrites.set(id, now);
    this.keys.touchLastUsed(id, new Date(now)).catch((error: Error) => {
      this.logger.warn({ err: error.message }, 'could not record API key use');
    });
  }

  /**
   * Makes sure an operator can get in: registers BOOTSTRAP_ADMIN_KEY when no
   * active admin key exists, or mints an admin key when there are no keys at
   * all. Returns a generated secret (to be shown once) when one was minted.
   * With `generate: false` (production) nothing is minted: `noKeys` says the
   * operator must create the first key.
   */
  async ensureBootstrapAdmin(
    bootstrapKey: string | undefined,
    options: { generate?: boolean } = {},
  ): Promise<{ registered: 'given' | 'generated' | null; secret?: string; noKeys?: true }> {
    const actor: Actor = { id: null, name: 'system:bootstrap', role: 'system', owner: null };
    return this.keys.transaction(async (tx) => {
      await this.keys.lockBootstrap(tx);
      let secret: string;
      let registered: 'given' | 'generated';
      if (bootstrapKey !== undefined) {
        if ((await this.keys.countActiveAdmins(tx, this.clock.now())) > 0) {
          return { registered: null };
        }
        if (await this.keys.existsWithHash(tx, hashApiKeySecret(bootstrapKey))) {
          // A revoked or expired key is not brought back by a restart.
          this.logger.warn('BOOTSTRAP_ADMIN_KEY was revoked or has expired; it is not registered again');
          return { registered: null };
        }
        secret = bootstrapKey;
        registered = 'given';
      } else {
        if ((await this.keys.countKeys(tx)) > 0) {
          return { registered: null };
        }
        if (options.generate === false) {
          return { registered: null, noKeys: true };
        }
        secret = generateApiKeySecret();
        registered = 'generated';
      }
      const created = await this.keys.insert(tx, {
        name: 'bootstrap admin',
        role: 'admin',
        owner: this.config.bootstrapAdminOwner,
        prefix: apiKeyPrefix(secret),
        secretHash: hashApiKeySecret(secret),
        expiresAt: null,
      });
      await this.keys.announceChange(tx, created.prefix);
      await this.audit.append(tx, {
        actor,
        action: 'api_key.created',
        entityType: 'api_key',
        entityId: created.id,
        after: toView(created),
      });
      return registered === 'generated' ? { registered, secret } : { registered };
    });
  }
}
