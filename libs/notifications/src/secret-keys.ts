import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { decodeWebhookSecretKey, HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { PrismaService } from '@app/database';
import { SecretBox } from './secret-box.js';

/** The only place that reads and writes the generated key. */
@Injectable()
export class WebhookSecretKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The stored key; `candidate` is stored first when there is none (the first process to ask wins). */
  async key(candidate: string): Promise<string> {
    await this.prisma.$executeRaw`INSERT INTO webhook_secret_key (id, key) VALUES (1, ${candidate}) ON CONFLICT (id) DO NOTHING`;
    return (await this.prisma.webhookSecretKey.findUniqueOrThrow({ where: { id: 1 } })).key;
  }
}

/**
 * The SecretBox of this process: WEBHOOK_SECRET_KEY's keys when set
 * (recommended in production: the key then lives only in the deployment's
 * secrets, not beside what it encrypts); otherwise a key generated once and
 * kept in the database, only where WEBHOOK_SECRET_KEY_IN_DATABASE allows it.
 * Made on first use, so a process starts while the database is away.
 */
@Injectable()
export class WebhookSecrets {
  private box: Promise<SecretBox> | undefined;

  constructor(
    @Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig,
    private readonly keys: WebhookSecretKeyRepository,
  ) {}

  get(): Promise<SecretBox> {
    this.box ??= this.make().catch((error: unknown) => {
      this.box = undefined;
      throw error;
    });
    return this.box;
  }

  private async make(): Promise<SecretBox> {
    const configured = this.config.notifications.webhooks.secretKeys;
    if (configured.length > 0) {
      return new SecretBox(configured.map((key) => decodeWebhookSecretKey(key)!));
    }
    if (!this.config.notifications.webhooks.secretKeyInDatabase) {
      throw new Error('WEBHOOK_SECRET_KEY is not set and WEBHOOK_SECRET_KEY_IN_DATABASE does not allow generating one');
    }
    const stored = await this.keys.key(randomBytes(32).toString('base64'));
    return new SecretBox([decodeWebhookSecretKey(stored)!]);
  }
}
