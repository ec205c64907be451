import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiKeysService, type ApiKeyView } from '@app/access';
import { InvalidOwnerError, isPersonRole, isRole, normalizeOwner, NotFoundError, parseDuration, ROLES, type Actor } from '@app/domain';
import type { CliRuntime } from './runtime.js';

const CLI_ACTOR: Actor = { id: null, name: 'system:cli', role: 'system', owner: null };

function expiresIn(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new InvalidArgumentError('use a duration such as 90d, 12h or 30m');
  }
  return ms;
}

function row(key: ApiKeyView): string {
  const state = key.revokedAt ? 'revoked' : key.expiresAt && key.expiresAt <= new Date() ? 'expired' : 'active';
  return [key.id, key.prefix, key.role.padEnd(7), state.padEnd(7), key.owner ?? '-', key.name].join('  ');
}

/** `api-keys create|list|revoke`: key management without the HTTP API (e.g. before any key exists). */
export function apiKeysCommands(runtime: CliRuntime): Command {
  const command = new Command('api-keys').description('mint, list and revoke API keys');

  command
    .command('create')
    .description('mint an API key; the secret is printed once')
    .requiredOption('--name <name>', 'what the key is for, e.g. "postfix mx1"')
    .addOption(
      new Option('--role <role>', 'admin, csr, auditor, filter or customer').choices([...ROLES]).makeOptionMandatory(),
    )
    .option('--organization <id>', 'for a customer key (and only for one): the organization it is bound to')
    .option(
      '--owner <owner>',
      'the person behind the key, an e-mail address or directory handle (required for admin, csr, auditor and customer; a filter key may name its host)',
    )
    .option('--expires-in <duration>', 'lifetime such as 90d, 12h or 30m (default: never expires)', expiresIn)
    .option('--json', 'print a single JSON line {"id","key","role","owner"}')
    .action(async (options: { name: string; role: string; owner?: string; organization?: string; expiresIn?: number; json?: boolean }, self: Command) => {
      if (!isRole(options.role) || options.name.trim() === '' || options.name.length > 100) {
        self.error('error: --name must be 1–100 characters');
      }
      const role = options.role as (typeof ROLES)[number];
      if ((role === 'customer') !== (options.organization !== undefined)) {
        self.error('error: --organization <id> is required for a customer key, and only for one');
      }
      if (options.owner === undefined && isPersonRole(role)) {
        self.error('error: --owner is required for admin, csr, auditor and customer keys: the e-mail address or directory handle of the person');
      }
      try {
        if (options.owner !== undefined) {
          normalizeOwner(options.owner);
        }
      } catch (error) {
        self.error(`error: --owner ${(error as InvalidOwnerError).message}`);
      }
      await runtime.withApp(async (app) => {
        const created = await app.get(ApiKeysService).create(
          {
            name: options.name,
            role,
            owner: options.owner ?? null,
            organizationId: options.organization ?? null,
            expiresAt: options.expiresIn === undefined ? null : new Date(Date.now() + options.expiresIn),
          },
          CLI_ACTOR,
        );
        if (options.json) {
          runtime.print(JSON.stringify({ id: created.id, key: created.key, role: created.role, owner: created.owner }));
        } else {
          runtime.print(`created ${created.role} key "${created.name}" of ${created.owner ?? 'no owner'} (${created.id})`);
          runtime.print(`key (shown only now): ${created.key}`);
        }
      });
    });

  command
    .command('list')
    .description('list API keys (never their secrets)')
    .option('--json', 'print one JSON object per line')
    .action(async (options: { json?: boolean }) => {
      await runtime.withApp(async (app) => {
        let cursor: string | undefined;
        do {
          const page = await app.get(ApiKeysService).list(200, cursor);
          for (const key of page.items) {
            runtime.print(options.json ? JSON.stringify(key) : row(key));
          }
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
      });
    });

  command
    .command('revoke')
    .description('revoke an API key by id; it stops working at once')
    .argument('<id>', 'the key id (see api-keys list)')
    .action(async (id: string) => {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) {
        throw new NotFoundError('API key');
      }
      await runtime.withApp(async (app) => {
        const revoked = await app.get(ApiKeysService).revoke(id.toLowerCase(), CLI_ACTOR);
        runtime.print(`revoked ${revoked.id} (${revoked.name})`);
      });
    });

  return command;
}
