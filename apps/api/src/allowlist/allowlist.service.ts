import { Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  AllowlistHistory,
  AllowlistRepository,
  buildSnapshot,
  FEED_NEXT_PUBLIC_KEY,
  FEED_SIGNER,
  SnapshotStore,
  type FeedSigning,
  type PreparedBody,
  type Rendering,
  type SigningPublicKey,
} from '@app/enforcement';
import { ForbiddenActionError, GoneError, InvalidFieldError, parseInstant, type Role } from '@app/domain';
import type { AllowlistChangesDto, FeedPublicKeyDto, SigningKeyDto } from './allowlist.dto.js';

/** More exceptions moved than this since the version asked about: fetching the whole list is the better answer. */
const MAX_DELTA_EXCEPTIONS = 100_000;

export interface FeedRequest {
  role: Role;
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  acceptEncoding: string | undefined;
  asOf: string | undefined;
}

/** RFC 9110 §13.1.2: If-None-Match holds a list of tags (or `*`); weak comparison. */
function matchesAny(header: string, etag: string): boolean {
  if (header.trim() === '*') {
    return true;
  }
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => bare(tag) === bare(etag));
}

function acceptsGzip(header: string | undefined): boolean {
  return header !== undefined && /(?:^|,)\s*gzip\s*(?:;\s*q\s*=\s*(?!0(?:\.0*)?\s*(?:,|$))[\d.]+)?\s*(?:,|$)/i.test(header);
}

function publicKeyDto(key: SigningPublicKey): FeedPublicKeyDto {
  return { algorithm: key.algorithm, base64: key.base64, pem: key.pem, rspamd: key.rspamd };
}

/**
 * Serves the allowlist from the in-memory snapshot: no database, no
 * rendering, per request — only header checks and bytes.
 */
@Injectable()
export class AllowlistService {
  constructor(
    private readonly store: SnapshotStore,
    private readonly repository: AllowlistRepository,
    private readonly history: AllowlistHistory,
    @Inject(FEED_SIGNER) private readonly signer: FeedSigning,
    @Inject(FEED_NEXT_PUBLIC_KEY) private readonly nextKey: SigningPublicKey | null,
  ) {}

  signingKey(): SigningKeyDto {
    return { ...publicKeyDto(this.signer.publicKey), next: this.nextKey === null ? null : publicKeyDto(this.nextKey) };
  }

  /**
   * What changed since version `since`: the exceptions that left or changed
   * (drop them) and the entries that joined or changed (add them). 410 when the
   * change log no longer reaches back that far, so the client fetches in full.
   */
  async changes(since: unknown): Promise<AllowlistChangesDto> {
    if (typeof since !== 'string' || !/^\d{1,19}$/.test(since)) {
      throw new InvalidFieldError('since', 'must be a version: a whole number (decimal)');
    }
    const result = await this.repository.netChangesSince(BigInt(since), MAX_DELTA_EXCEPTIONS);
    if (result === 'ahead') {
      throw new InvalidFieldError('since', 'is newer than the current version');
    }
    if (result === 'gone') {
      throw new GoneError('the change log no longer reaches back to that version; fetch the whole list');
    }
    if (result === 'too-many') {
      throw new GoneError('too many exceptions changed since that version; fetch the whole list');
    }
    const removed: string[] = [];
    const added: AllowlistChangesDto['added'] = [];
    for (const { exceptionId, entry } of result.states) {
      removed.push(exceptionId);
      if (entry) {
        added.push({ exceptionId, ...entry });
      }
    }
    return { since, version: result.head.version.toString(), changedAt: result.head.changedAt.toISOString(), removed, added };
  }

  async send(rendering: Rendering, signature: boolean, request: FeedRequest, reply: FastifyReply): Promise<void> {
    const { prepared, version, staleSince } = await this.prepared(rendering, request);
    const etag = signature ? `${prepared.etag.slice(0, -1)}.sig"` : prepared.etag;
    void reply
      .header('etag', etag)
      .header('last-modified', prepared.lastModifiedHttp)
      .header('x-allowlist-version', version)
      .header('cache-control', 'no-cache')
      .header('vary', 'Accept-Encoding');
    if (staleSince) {
      void reply.header('x-allowlist-stale-since', staleSince.toISOString());
    }
    if (this.notModified(request, etag, prepared.lastModified)) {
      void reply.status(304).send();
      return;
    }
    if (signature) {
      void reply.header('content-type', 'application/octet-stream').send(prepared.signature);
      return;
    }
    // The signature of exactly this body, so a client can check it without a second request racing a change.
    void reply.header('content-type', prepared.contentType).header('x-allowlist-signature', prepared.signature.toString('base64'));
    if (acceptsGzip(request.acceptEncoding)) {
      void reply.header('content-encoding', 'gzip').send(prepared.gzip);
    } else {
      void reply.send(prepared.body);
    }
  }

  private async prepared(
    rendering: Rendering,
    request: FeedRequest,
  ): Promise<{ prepared: PreparedBody; version: string; staleSince: Date | null }> {
    if (request.asOf !== undefined) {
      if (request.role !== 'auditor' && request.role !== 'admin') {
        throw new ForbiddenActionError('asOf is for auditors and admins');
      }
      // A repeated ?asOf= arrives as an array.
      const instant = typeof request.asOf === 'string' ? parseInstant(request.asOf) : undefined;
      if (instant === undefined) {
        throw new InvalidFieldError('asOf', 'must be one ISO-8601 date-time with a time zone, between the years 0001 and 9999');
      }
      const { head, candidates } = await this.history.at(instant);
      const snapshot = buildSnapshot(candidates, head.version, head.changedAt, instant, undefined, (body) => this.signer.sign(body));
      return { prepared: snapshot.renderings[rendering], version: head.version.toString(), staleSince: null };
    }
    const snapshot = this.store.current();
    if (!snapshot) {
      throw new ServiceUnavailableException('the allowlist has not been loaded yet');
    }
    const prepared = await this.store.rendering(rendering);
    const version = this.store.current()!.version.toString();
    return { prepared, version, staleSince: this.store.stale() };
  }

  private notModified(request: FeedRequest, etag: string, lastModified: Date): boolean {
    if (request.ifNoneMatch !== undefined) {
      return matchesAny(request.ifNoneMatch, etag);
    }
    if (request.ifModifiedSince !== undefined) {
      const since = Date.parse(request.ifModifiedSince);
      return !Number.isNaN(since) && lastModified.getTime() <= since;
    }
    return false;
  }
}
