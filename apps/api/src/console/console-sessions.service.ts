import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiKeysService, type AuthenticatedKey } from '@app/access';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { AuditLog } from '@app/database';
import { Clock, ForbiddenActionError, type Actor } from '@app/domain';
import { ConsoleSessionsRepository } from './console-sessions.repository.js';
import { csrfTokenFor, csrfTokenMatches, hashSessionToken, isWellFormedSessionToken, newSessionToken } from './session-token.js';

/** What the console is told about its session (never the token). */
export interface ConsoleSessionView {
  id: string;
  caller: { keyId: string; name: string; role: string; owner: string | null };
  /** Sent back in X-CSRF-Token with every request that changes something. */
  csrfToken: string;
  createdAt: Date;
  /** The absolute end, whatever happens. */
  expiresAt: Date;
  /** The session ends if unused this long. */
  idleTimeoutSeconds: number;
}

export interface OpenedSession {
  token: string;
  view: ConsoleSessionView;
}

/** Why a session cookie was refused. */
export type SessionFailure = 'unknown' | 'ended' | 'key_ended' | 'csrf';

export type SessionAuthentication = { key: AuthenticatedKey; sessionId: string } | { failure: SessionFailure };

const actorOf = (key: AuthenticatedKey): Actor => ({ id: key.id, name: key.name, role: key.role, owner: key.owner });
/** What the audit trail says of a session: whose key it acts with (the key's id, name, role and owner). */
const sessionSubject = (key: AuthenticatedKey) => ({ keyId: key.id, keyName: key.name, role: key.role, owner: key.owner });

/** lastSeenAt is written at most this often per session: the idle time-out is counted in minutes. */
const TOUCH_INTERVAL_MS = 15_000;
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Console sessions: an API key exchanged for a random session token kept in
 * an HttpOnly cookie, so the key never has to live in the browser. A session
 * acts with its key's role and owner, ends at its absolute expiry, after the
 * idle time-out, at sign-out, or when its key is revoked or expires.
 */
@Injectable()
export class ConsoleSessionsService {
  private readonly logger = new Logger('ConsoleSessions');

  constructor(
    private readonly sessions: ConsoleSessionsRepository,
    private readonly apiKeys: ApiKeysService,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  /** Opens a session for a known person's key; undefined when the key is not accepted. */
  async signIn(secret: string, requestId?: string): Promise<OpenedSession | undefined> {
    const result = await this.apiKeys.authenticate(secret);
    if ('failure' in result) {
      return undefined;
    }
    if (result.key.role === 'filter') {
      throw new ForbiddenActionError('a filter key cannot sign in to the console: sign in with a person\'s key (admin, csr or auditor)');
    }
    const token = newSessionToken();
    const now = this.clock.now();
    // A key that ends sooner ends the session with it (checked on every request).
    const expiresAt = new Date(now.getTime() + this.config.console.sessionMaxMs);
    const key = result.key;
    const { id } = await this.sessions.transaction(async (tx) => {
      const opened = await this.sessions.insert(tx, { tokenHash: hashSessionToken(token), apiKeyId: key.id, now, expiresAt });
      // Who signed in, with which key, until when: never the key's secret nor the session's token.
      await this.audit.append(tx, {
        actor: actorOf(key),
        action: 'console_session.started',
        entityType: 'console_session',
        entityId: opened.id,
        organizationId: key.organizationId,
        after: { ...sessionSubject(key), createdAt: now, expiresAt },
        requestId,
      });
      return opened;
    });
    this.logger.log({ sessionId: id, keyId: result.key.id, role: result.key.role }, 'console session opened');
    return { token, view: this.view(id, token, result.key, now, expiresAt) };
  }

  /**
   * The key behind a session cookie, if the session is open. A request that
   * changes something must carry the session's CSRF token too.
   */
  async authenticate(token: string, method: string, csrfHeader: string | undefined): Promise<SessionAuthentication> {
    if (!isWellFormedSessionToken(token)) {
      return { failure: 'unknown' };
    }
    const session = await this.sessions.findByTokenHash(hashSessionToken(token));
    if (!session) {
      return { failure: 'unknown' };
    }
    const now = this.clock.now();
    if (session.revokedAt || session.expiresAt <= now || now.getTime() - session.lastSeenAt.getTime() >= this.config.console.sessionIdleMs) {
      return { failure: 'ended' };
    }
    if (session.key.revokedAt || (session.key.expiresAt && session.key.expiresAt <= now)) {
      return { failure: 'key_ended' };
    }
    if (UNSAFE_METHODS.has(method) && !csrfTokenMatches(token, csrfHeader)) {
      return { failure: 'csrf' };
    }
    if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
      await this.sessions.touch(session.id, now);
    }
    // A customer's session stays bound to its organization, as its key is.
    const { id, name, role, owner, organizationId } = session.key;
    return { key: { id, name, role, owner, organizationId }, sessionId: session.id };
  }

  /** The session as the console sees it (for a reload: the CSRF token again). */
  async describe(token: string): Promise<ConsoleSessionView | undefined> {
    const result = await this.authenticate(token, 'GET', undefined);
    if ('failure' in result) {
      return undefined;
    }
    const session = await this.sessions.findByTokenHash(hashSessionToken(token));
    return session ? this.view(session.id, token, result.key, session.createdAt, session.expiresAt) : undefined;
  }

  /** Ends the session at once; the end is audited like its start (a second sign-out changes nothing). */
  async signOut(sessionId: string, key: AuthenticatedKey, requestId?: string): Promise<void> {
    const now = this.clock.now();
    await this.sessions.transaction(async (tx) => {
      const ended = await this.sessions.revoke(tx, sessionId, now);
      if (ended === null) {
        return;
      }
      await this.audit.append(tx, {
        actor: actorOf(key),
        action: 'console_session.ended',
        entityType: 'console_session',
        entityId: sessionId,
        organizationId: key.organizationId,
        before: { ...sessionSubject(key), createdAt: ended.createdAt, expiresAt: ended.expiresAt },
        after: { ...sessionSubject(key), createdAt: ended.createdAt, expiresAt: ended.expiresAt, endedAt: now, ended: 'signed_out' },
        requestId,
      });
    });
    this.logger.log({ sessionId }, 'console session closed');
  }

  private view(id: string, token: string, key: AuthenticatedKey, createdAt: Date, expiresAt: Date): ConsoleSessionView {
    return {
      id,
      caller: { keyId: key.id, name: key.name, role: key.role, owner: key.owner },
      csrfToken: csrfTokenFor(token),
      createdAt,
      expiresAt,
      idleTimeoutSeconds: Math.round(this.config.console.sessionIdleMs / 1000),
    };
  }
}
