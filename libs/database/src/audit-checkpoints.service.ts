import { appendFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import {
  auditCheckpointSignatureValid,
  auditEventHash,
  Clock,
  parseEd25519PrivateKey,
  RuleViolationError,
  signAuditCheckpoint,
  type SignedAuditCheckpoint,
} from '@app/domain';
import type { KeyObject } from 'node:crypto';
import { AuditChainService } from './audit-chain.service.js';
import { AuditLog, type AuditChainReport } from './audit-log.js';
import { PrismaService } from './prisma.service.js';

export interface StoredAuditCheckpoint extends SignedAuditCheckpoint {
  id: string;
  createdBy: string;
}

export interface CheckpointPublication {
  /** `written`, `failed: …`, or null when AUDIT_CHECKPOINT_FILE is unset. */
  file: string | null;
  /** `delivered (HTTP 2xx)`, `failed: …`, or null when AUDIT_CHECKPOINT_URL is unset. */
  url: string | null;
}

export type CheckpointVerdict =
  | 'consistent'
  | 'checkpoint_signature_invalid'
  | 'event_rewritten'
  | 'tail_truncated'
  | 'restored_older_backup';

/** What verifying the database against a checkpoint kept elsewhere found. */
export interface CheckpointVerification {
  readonly verdict: CheckpointVerdict;
  readonly valid: boolean;
  /** One sentence for the auditor. */
  readonly detail: string;
  readonly checkpoint: { count: number; lastHash: string; lastEventId: string | null; at: string; knownToDatabase: boolean };
  /** The chain as it stands now. */
  readonly chain: AuditChainReport;
}

const PUBLISH_TIMEOUT_MS = 5_000;

function toStored(row: {
  id: string;
  count: bigint;
  lastEventId: string | null;
  lastHash: string;
  at: Date;
  signature: string;
  publicKey: string;
  createdBy: string;
}): StoredAuditCheckpoint {
  return {
    id: row.id,
    lastEventId: row.lastEventId,
    lastHash: row.lastHash,
    count: Number(row.count),
    at: row.at.toISOString(),
    signature: row.signature,
    publicKey: row.publicKey,
    createdBy: row.createdBy,
  };
}

/**
 * Signed checkpoints of the audit chain: taken on demand and by the worker,
 * kept in the database and pushed outside it (a file appended to, an HTTP
 * receiver), and the verification of the chain against one of them.
 */
@Injectable()
export class AuditCheckpointService {
  private readonly logger = new Logger('AuditCheckpoints');
  private signer: Promise<KeyObject> | undefined;

  constructor(
    private readonly prisma: PrismaService,
    private readonly clock: Clock,
    private readonly chain: AuditChainService,
    private readonly audit: AuditLog,
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
  ) {}

  /** AUDIT_SIGNING_KEY, or one generated once and kept in the database where that is allowed (as the feed's key). */
  private key(): Promise<KeyObject> {
    this.signer ??= (async () => {
      if (this.config.audit.signingKey !== undefined) {
        return parseEd25519PrivateKey(this.config.audit.signingKey, 'AUDIT_SIGNING_KEY');
      }
      if (!this.config.audit.signingKeyInDatabase) {
        throw new Error('AUDIT_SIGNING_KEY is not set and AUDIT_SIGNING_KEY_IN_DATABASE does not allow generating one');
      }
      const candidate = randomBytes(32).toString('base64');
      await this.prisma.$executeRaw`INSERT INTO audit_signing_key (id, seed) VALUES (1, ${candidate}) ON CONFLICT (id) DO NOTHING`;
      const stored = await this.prisma.auditSigningKey.findUniqueOrThrow({ where: { id: 1 } });
      return parseEd25519PrivateKey(stored.seed, 'the stored audit signing key');
    })();
    this.signer.catch(() => {
      this.signer = undefined;
    });
    return this.signer;
  }

  async publicKey(): Promise<string> {
    return signAuditCheckpoint({ lastEventId: null, lastHash: '', count: 0, at: '' }, await this.key()).publicKey;
  }

  /**
   * Links what committed, verifies the chain since the last checkpoint (a
   * broken chain is never signed), then signs its head, stores and publishes it.
   */
  async create(createdBy: string): Promise<{ checkpoint: StoredAuditCheckpoint; published: CheckpointPublication }> {
    const key = await this.key();
    const report = await this.verifyIncremental();
    if (!report.valid) {
      throw new RuleViolationError(
        `the audit chain does not verify (${report.problem} at position ${report.brokenAtPosition}): no checkpoint is signed over it`,
      );
    }
    const signed = signAuditCheckpoint(
      { lastEventId: report.lastEventId, lastHash: report.lastHash, count: report.lastPosition, at: this.clock.now().toISOString() },
      key,
    );
    const row = await this.prisma.auditCheckpoint.create({
      data: {
        count: BigInt(signed.count),
        lastEventId: signed.lastEventId,
        lastHash: signed.lastHash,
        at: new Date(signed.at),
        signature: signed.signature,
        publicKey: signed.publicKey,
        createdBy: createdBy.slice(0, 100),
      },
    });
    const checkpoint = toStored(row);
    return { checkpoint, published: await this.publish(checkpoint) };
  }

  /** The worker's: a checkpoint when the last is older than the interval and the chain grew since. */
  async createIfDue(): Promise<StoredAuditCheckpoint | null> {
    const minutes = this.config.audit.checkpointIntervalMinutes;
    if (minutes === 0) {
      return null;
    }
    await this.chain.chainPending();
    const [last, head] = await Promise.all([this.latest(), this.chain.head()]);
    const due = last === null ? head.position > 0 : this.clock.now().getTime() - Date.parse(last.at) >= minutes * 60_000 && head.position > last.count;
    return due ? (await this.create('system:worker')).checkpoint : null;
  }

  async latest(): Promise<StoredAuditCheckpoint | null> {
    const row = await this.prisma.auditCheckpoint.findFirst({ orderBy: [{ count: 'desc' }, { at: 'desc' }] });
    return row === null ? null : toStored(row);
  }

  /** Newest first; `before` is the id-free keyset (at, id) of the last one seen. */
  async list(limit: number, before?: { at: Date; id: string }): Promise<StoredAuditCheckpoint[]> {
    const rows = await this.prisma.auditCheckpoint.findMany({
      where: before === undefined ? undefined : { OR: [{ at: { lt: before.at } }, { at: before.at, id: { lt: before.id } }] },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: limit,
    });
    return rows.map(toStored);
  }

  /**
   * From the last checkpoint signed with this key (its link must still hold
   * its hash) onwards: what was written since — after checking that the event
   * each checkpoint signed with this key anchors still gives the hash it
   * signed (one event per checkpoint: a rewrite of an anchored event shows;
   * one of an event between two checkpoints takes the full check). The full
   * check stays AuditLog.verifyChain() without a start.
   */
  async verifyIncremental(): Promise<AuditChainReport> {
    const last = await this.latest();
    const publicKey = last === null ? null : await this.publicKey();
    if (last === null || last.count === 0 || !auditCheckpointSignatureValid(last, publicKey!)) {
      return this.audit.verifyChain();
    }
    const report = await this.audit.verifyChain({ position: last.count, hash: last.lastHash });
    const broken = await this.brokenAnchor(publicKey!);
    if (broken === null) {
      return report;
    }
    return {
      ...report,
      valid: false,
      firstBrokenEventId: broken.eventId,
      brokenAtPosition: broken.position,
      problem: broken.problem,
      detail: `${broken.problem === 'event_rewritten' ? 'the event' : 'the link'} the checkpoint of ${broken.at} anchors (position ${broken.position}) ${
        broken.problem === 'event_rewritten' ? 'was changed after it was recorded: its content no longer gives the hash the checkpoint signed' : 'is not the one it signed'
      }`,
    };
  }

  /** The earliest checkpoint signed with `publicKey` whose anchored event or link no longer gives what it signed, or null. */
  private async brokenAnchor(
    publicKey: string,
  ): Promise<{ position: number; eventId: string | null; at: string; problem: 'event_rewritten' | 'link_mismatch' } | null> {
    const rows = await this.prisma.auditCheckpoint.findMany({ where: { count: { gt: 0 }, publicKey }, orderBy: [{ count: 'asc' }, { at: 'asc' }] });
    const signed = rows.map(toStored).filter((checkpoint) => auditCheckpointSignatureValid(checkpoint, publicKey));
    for (let i = 0; i < signed.length; i += 1000) {
      const batch = signed.slice(i, i + 1000);
      const links = new Map(
        (await this.prisma.auditChainLink.findMany({ where: { position: { in: batch.map((checkpoint) => BigInt(checkpoint.count)) } }, include: { event: true } })).map(
          (link) => [Number(link.position), link],
        ),
      );
      for (const checkpoint of batch) {
        const link = links.get(checkpoint.count);
        if (link === undefined || link.hash !== checkpoint.lastHash || link.eventId !== checkpoint.lastEventId) {
          return { position: checkpoint.count, eventId: link?.eventId ?? checkpoint.lastEventId, at: checkpoint.at, problem: 'link_mismatch' };
        }
        if (auditEventHash(link.prevHash, link.event) !== checkpoint.lastHash) {
          return { position: checkpoint.count, eventId: link.eventId, at: checkpoint.at, problem: 'event_rewritten' };
        }
      }
    }
    return null;
  }

  /**
   * The database against a checkpoint kept elsewhere: a cut tail, a
   * rewritten event and a restored older backup each get their own answer.
   */
  async verifyAgainst(checkpoint: SignedAuditCheckpoint, pinnedPublicKey?: string): Promise<CheckpointVerification> {
    const chain = await this.audit.verifyChain();
    const known =
      (await this.prisma.auditCheckpoint.count({
        where: { count: BigInt(checkpoint.count), lastHash: checkpoint.lastHash, signature: checkpoint.signature },
      })) > 0;
    const summary = { count: checkpoint.count, lastHash: checkpoint.lastHash, lastEventId: checkpoint.lastEventId, at: checkpoint.at, knownToDatabase: known };
    const answer = (verdict: CheckpointVerdict, detail: string): CheckpointVerification => ({
      verdict,
      valid: verdict === 'consistent',
      detail,
      checkpoint: summary,
      chain,
    });
    const trustedKey = pinnedPublicKey ?? (await this.publicKey());
    if (!auditCheckpointSignatureValid(checkpoint, trustedKey)) {
      return answer('checkpoint_signature_invalid', 'the checkpoint is not signed by the audit key: it proves nothing');
    }
    if (!chain.valid && chain.brokenAtPosition !== null && chain.brokenAtPosition <= checkpoint.count && chain.problem === 'event_rewritten') {
      return answer('event_rewritten', `event ${chain.firstBrokenEventId} (position ${chain.brokenAtPosition}) was changed after it was recorded`);
    }
    const end = chain.valid ? chain.lastPosition : (chain.brokenAtPosition ?? 1) - 1;
    if (end < checkpoint.count) {
      return known
        ? answer(
            'tail_truncated',
            `the chain ends at position ${end}, but the checkpoint of ${checkpoint.at} (still in the database) saw ${checkpoint.count}: the last ${checkpoint.count - end} event(s) were removed`,
          )
        : answer(
            'restored_older_backup',
            `the chain ends at position ${end} and the database does not know the checkpoint of ${checkpoint.at} (${checkpoint.count} events): ` +
              `it was restored from an older backup (or the events were removed with their checkpoints)`,
          );
    }
    const link = await this.prisma.auditChainLink.findUnique({ where: { position: BigInt(checkpoint.count) } });
    if (link === null || link.hash !== checkpoint.lastHash || link.eventId !== checkpoint.lastEventId) {
      return answer(
        'restored_older_backup',
        `position ${checkpoint.count} holds another event than the checkpoint of ${checkpoint.at} saw: history was replaced — ` +
          `an older backup restored and written on since${known ? '' : ' (the database does not know this checkpoint)'}, or a rewrite`,
      );
    }
    if (!chain.valid) {
      return answer('event_rewritten', `event ${chain.firstBrokenEventId} (position ${chain.brokenAtPosition}) breaks the chain after the checkpoint: ${chain.detail}`);
    }
    return answer('consistent', `the chain holds the checkpoint's head at position ${checkpoint.count} and verifies through position ${chain.lastPosition}`);
  }

  /** Copies outside the database: never fatal (the checkpoint is stored), always said. */
  private async publish(checkpoint: StoredAuditCheckpoint): Promise<CheckpointPublication> {
    const { id: _id, createdBy: _by, ...outside } = checkpoint;
    const line = JSON.stringify(outside);
    const published: CheckpointPublication = { file: null, url: null };
    if (this.config.audit.checkpointFile !== undefined) {
      try {
        // O_APPEND: each checkpoint a line of its own after what is there; nothing is ever rewritten.
        await appendFile(this.config.audit.checkpointFile, line + '\n', { flag: 'a', mode: 0o640 });
        published.file = 'written';
      } catch (error) {
        published.file = `failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
      }
    }
    if (this.config.audit.checkpointUrl !== undefined) {
      try {
        const response = await fetch(this.config.audit.checkpointUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: line,
          redirect: 'error',
          signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS),
        });
        await response.body?.cancel();
        published.url = response.ok ? `delivered (HTTP ${response.status})` : `failed: HTTP ${response.status}`;
      } catch (error) {
        published.url = `failed: ${(error as Error).name === 'TimeoutError' ? 'timed out' : 'no connection'}`;
      }
    }
    if (published.file?.startsWith('failed') || published.url?.startsWith('failed')) {
      this.logger.warn({ checkpoint: checkpoint.id, published }, 'audit checkpoint stored, but not every copy outside the database was made');
    }
    return published;
  }
}
