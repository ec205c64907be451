import type { Clock } from '@app/domain';
import { resolvingThrough } from './app-on-test-dns.js';
import { startTestDnsServer, type TestDnsServer } from './dns-server.js';
import { startTestSmtpServer, type TestSmtpServer } from './smtp-server.js';
import { startIsolatedTestApp, type TestApp } from './test-app.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

/**
 * What specs about notifications over time run on: a DNS server, a mail
 * server and a webhook receiver of their own, and an app on a database of
 * its own (they sweep "everything due") that resolves, e-mails and delivers
 * webhooks to them, its time driven by `clock`.
 */
export interface NotificationBed {
  dns: TestDnsServer;
  smtp: TestSmtpServer;
  receiver: WebhookReceiver;
  t: TestApp & { databaseUrl: string };
  /** The app's settings, for a worker started on the same database and servers. */
  env: Record<string, string>;
}

export async function startNotificationBed(settings: Record<string, string>, clock: Clock): Promise<NotificationBed> {
  const started: Partial<NotificationBed> = {};
  try {
    started.dns = await startTestDnsServer();
    started.smtp = await startTestSmtpServer();
    started.receiver = await startWebhookReceiver();
    started.env = {
      ...resolvingThrough(started.dns),
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      SMTP_URL: started.smtp.url,
      NOTIFY_EMAIL_FROM: 'helopass@provider.example',
      ...settings,
    };
    started.t = await startIsolatedTestApp(started.env, clock);
    return started as NotificationBed;
  } catch (error) {
    await stopNotificationBed(started);
    throw error;
  }
}

/** Stops whichever parts of a bed did start, the app first. */
export async function stopNotificationBed(bed: Partial<NotificationBed>): Promise<void> {
  await bed.t?.close();
  await bed.receiver?.stop();
  await bed.smtp?.stop();
  await bed.dns?.stop();
}
