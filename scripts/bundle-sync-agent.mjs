#!/usr/bin/env node
/**
 * Bundles the sync agent (apps/cli/src/sync/helopass-sync.ts and everything
 * it imports: the @app/domain helpers, commander, ipaddr.js) into one file,
 * dist/helopass-sync.mjs, that runs on Node.js 20 or newer with nothing else
 * installed: what a mail host copies (README, "Hooking up a mail host").
 * Run by scripts/build.mjs; the bundle must import Node's built-ins only,
 * which this script checks.
 */
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist', 'helopass-sync.mjs');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const result = await build({
  entryPoints: [join(ROOT, 'apps/cli/src/sync/helopass-sync.ts')],
  outfile: OUT,
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The oldest Node.js still maintained, and Debian 13's; the suite runs the bundle on it.
  target: 'node20',
  tsconfig: join(ROOT, 'tsconfig.json'),
  legalComments: 'none',
  define: { HELOPASS_SYNC_VERSION: JSON.stringify(version) },
  metafile: true,
  logLevel: 'warning',
  banner: {
    js: [
      '#!/usr/bin/env node',
      `// helopass-sync ${version}: the HeloPass sync agent in one file (Node.js >= 20, nothing else). Built from apps/cli/src/sync.`,
      // commander is CommonJS; its require() of Node built-ins needs a require in an ES module.
      "import { createRequire as __helopassCreateRequire } from 'node:module';",
      'const require = __helopassCreateRequire(import.meta.url);',
    ].join('\n'),
  },
});

const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const external = Object.values(result.metafile.outputs)
  .flatMap((output) => output.imports)
  .map((imported) => imported.path)
  .filter((path) => !builtins.has(path));
if (external.length > 0) {
  console.error(`helopass-sync.mjs would need more than Node.js: ${[...new Set(external)].join(', ')}`);
  process.exit(1);
}
chmodSync(OUT, 0o755);
const bytes = readFileSync(OUT);
console.log(
  `dist/helopass-sync.mjs: ${Math.round(bytes.length / 1024)} KiB, sha256 ${createHash('sha256').update(bytes).digest('hex')}`,
);
