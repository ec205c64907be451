import { Inject, Injectable } from '@nestjs/common';
import { HELOPASS_CONFIG, type HeloPassConfig } from '@app/config';
import { TargetGuard } from './target-guard.js';
import { TargetPolicy } from './target-policy.js';

/** The process's rule on where webhooks may go (WEBHOOK_ALLOW_PRIVATE_TARGETS), and the resolver it judges names with. */
@Injectable()
export class NotificationTargets {
  readonly policy: TargetPolicy;
  readonly guard: TargetGuard;

  constructor(@Inject(HELOPASS_CONFIG) config: HeloPassConfig) {
    this.policy = new TargetPolicy(config.notifications.webhooks.targets);
    this.guard = new TargetGuard(this.policy, config.dns);
  }
}
