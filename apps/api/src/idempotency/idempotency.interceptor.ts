import {
  BadRequestException,
  Inject,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { catchError, from, mergeMap, of, throwError, type Observable } from 'rxjs';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { IdempotencyRepository, type IdempotencyEntry } from '@app/database';
import { canonicalJson, ConflictError, RuleViolationError, sha256Hex } from '@app/domain';
import type { HeloPassRequest } from '../common/request-context.js';
import { CHANGES_NOTHING } from './changes-nothing.js';
import { RETURNS_SECRET, withoutSecrets } from './returns-secret.js';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Response headers that are part of "the same response". */
const REPLAYED_HEADERS = ['etag', 'location'];
/** A claim left by a process that died mid-request is given up after this long. */
const ABANDONED_AFTER_MS = 5 * 60_000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * `Idempotency-Key` on writes: the same key with the same request answers the
 * first response again without redoing the change; the same key with another
 * request is refused (422); a key whose first request is still running is
 * 409. A request that fails leaves no record, so it may be retried with the key.
 * A response that carries a secret (`@ReturnsSecret`) is kept without it.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly records: IdempotencyRepository,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<HeloPassRequest>();
    const key = request.headers['idempotency-key'];
    if (!WRITE_METHODS.has(request.method) || key === undefined || !request.caller) {
      return next.handle();
    }
    if (this.reflector.getAllAndOverride<boolean | undefined>(CHANGES_NOTHING, [context.getHandler(), context.getClass()]) === true) {
      return next.handle();
    }
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      throw new BadRequestException('Idempotency-Key must be 1–255 visible ASCII characters');
    }
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const secretFields = this.reflector.getAllAndOverride<string[] | undefined>(RETURNS_SECRET, [
      context.getHandler(),
      context.getClass(),
    ]);
    const callerId = request.caller.id;
    const requestHash = sha256Hex(canonicalJson({ method: request.method, url: request.url, body: request.body ?? null }));
    return from(this.claimOrReplay(callerId, key, request.method, request.url, requestHash)).pipe(
      mergeMap((outcome) => {
        if (outcome.kind === 'replay') {
          return of(this.replay(outcome.entry, reply));
        }
        return next.handle().pipe(
          mergeMap((body: unknown) => {
            const kept = secretFields ? withoutSecrets(body, secretFields) : body;
            return from(this.remember(outcome.id, reply, kept)).pipe(mergeMap(() => of(body)));
          }),
          catchError((error: unknown) => from(this.records.release(outcome.id)).pipe(mergeMap(() => throwError(() => error)))),
        );
      }),
    );
  }

  private async claimOrReplay(
    callerId: string,
    key: string,
    method: string,
    url: string,
    requestHash: string,
  ): Promise<{ kind: 'claimed'; id: string } | { kind: 'replay'; entry: IdempotencyEntry }> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const id = await this.records.claim(callerId, key, method, url.slice(0, 2048), requestHash);
      if (id !== undefined) {
        return { kind: 'claimed', id };
      }
      const existing = await this.records.find(callerId, key);
      if (!existing) {
        continue; // released between our claim and our look: claim again
      }
      const age = Date.now() - existing.createdAt.getTime();
      const expired = age > this.config.idempotencyRetentionHours * 3_600_000;
      const abandoned = existing.completedAt === null && age > ABANDONED_AFTER_MS;
      if (expired || abandoned) {
        await this.records.forget(existing.id);
        continue;
      }
      if (existing.requestHash !== requestHash) {
        throw new RuleViolationError('this Idempotency-Key was already used with a different request');
      }
      if (existing.completedAt === null) {
        throw new ConflictError('a request with this Idempotency-Key is still being processed; retry later');
      }
      return { kind: 'replay', entry: existing };
    }
    throw new ConflictError('could not claim the Idempotency-Key; retry');
  }

  private replay(entry: IdempotencyEntry, reply: FastifyReply): unknown {
    void reply.status(entry.responseStatus ?? 200);
    for (const [name, value] of Object.entries((entry.responseHeaders ?? {}) as Record<string, string>)) {
      void reply.header(name, value);
    }
    void reply.header('idempotent-replayed', 'true');
    return entry.responseBody ?? undefined;
  }

  /** Keeps the response for replays; `kept` is the body as it may be stored (never a secret). */
  private async remember(id: string, reply: FastifyReply, kept: unknown): Promise<void> {
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = reply.getHeader(name);
      if (typeof value === 'string') {
        headers[name] = value;
      }
    }
    await this.records.complete(id, reply.statusCode, kept, headers);
  }
}
