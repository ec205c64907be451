import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import nodemailer from 'nodemailer';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import type { EmailMessage } from './email-message.js';

type Transporter = ReturnType<typeof nodemailer.createTransport>;

/**
 * Sends through the operator's SMTP relay (SMTP_URL) with nodemailer. The
 * URL may carry credentials: it is handed to nodemailer and never logged;
 * errors are reported by their SMTP response code and message, which never
 * contain it.
 */
@Injectable()
export class EmailSender implements OnModuleDestroy {
  private transport: Transporter | undefined;

  constructor(@Inject(HELOPASS_CONFIG) private readonly config: HeloPassConfig) {}

  get enabled(): boolean {
    return this.config.notifications.email !== undefined;
  }

  async send(to: readonly string[], message: EmailMessage): Promise<void> {
    const email = this.config.notifications.email;
    if (email === undefined) {
      throw new Error('e-mail is not configured (SMTP_URL)');
    }
    const timeout = this.config.notifications.webhooks.timeoutMs;
    this.transport ??= nodemailer.createTransport({ url: email.smtpUrl, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout });
    await this.transport.sendMail({ from: email.from, to: [...to], subject: message.subject, text: message.text });
  }

  onModuleDestroy(): void {
    this.transport?.close();
  }
}
