#!/usr/bin/env node
/**
 * The build: `nest build api` (tsc over apps/ and libs/ into dist/: the API,
 * the worker, the policy server and the CLI), then the standalone sync agent bundled into
 * dist/helopass-sync.mjs (scripts/bundle-sync-agent.mjs).
 *
 *   node scripts/build.mjs              build now (npm run build, postinstall)
 *   node scripts/build.mjs --if-stale   build only when the sources changed since the last
 *                                       build (prestart, precli, pretest …): a stat of each
 *                                       source file, a few milliseconds when nothing changed
 *   node scripts/build.mjs --check      exit 0 when the build is up to date, 1 when not; build nothing
 *
 * "Changed" is a fingerprint of every source file's path, size and mtime
 * (apps/, libs/ without *.spec.ts, the tsconfig and nest-cli files, the lock
 * file, the build scripts), kept in dist/.build-fingerprint after a build
 * that succeeded. An edit, a new or deleted file, a git checkout or an
 * `npm ci` changes it; a failed build leaves none, so the next call builds again.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const STAMP = join(ROOT, 'dist', '.build-fingerprint');
const SOURCE_DIRS = ['apps', 'libs'];
const SOURCE_FILES = [
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
  'package-lock.json',
  'scripts/build.mjs',
  'scripts/bundle-sync-agent.mjs',
];
/** What every start script needs; a build that lost one of them is rebuilt whatever the fingerprint says. */
const OUTPUTS = [
  'dist/apps/api/src/main.js',
  'dist/apps/worker/src/main.js',
  'dist/apps/policy/src/main.js',
  'dist/apps/cli/src/main.js',
  'dist/helopass-sync.mjs',
];

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* files(path);
    } else if (!entry.name.endsWith('.spec.ts')) {
      yield path;
    }
  }
}

function sourceFingerprint() {
  const hash = createHash('sha256');
  const paths = [...SOURCE_DIRS.flatMap((dir) => [...files(join(ROOT, dir))]), ...SOURCE_FILES.map((file) => join(ROOT, file))];
  for (const path of paths.sort()) {
    const stats = statSync(path, { throwIfNoEntry: false });
    hash.update(`${relative(ROOT, path)}\0${stats ? `${stats.size}:${stats.mtimeMs}` : '-'}\n`);
  }
  return hash.digest('hex');
}

function isFresh(fingerprint) {
  if (!OUTPUTS.every((output) => existsSync(join(ROOT, output)))) {
    return false;
  }
  try {
    return readFileSync(STAMP, 'utf8').trim() === fingerprint;
  } catch {
    return false;
  }
}

const ifStale = process.argv.includes('--if-stale');

function run(command, args) {
  // Before `npm run cli`, stdout is the command's (`api-keys create --json`): the build speaks on stderr.
  const result = spawnSync(command, args, { cwd: ROOT, stdio: ['inherit', ifStale ? 2 : 'inherit', 'inherit'] });
  if (result.status !== 0) {
    process.exit(result.status ?? 1);
  }
}

const before = sourceFingerprint();
if (process.argv.includes('--check')) {
  process.exit(isFresh(before) ? 0 : 1);
}
if (ifStale && isFresh(before)) {
  process.exit(0);
}
if (ifStale) {
  process.stderr.write('[helopass] sources changed since the last build: building (npm run build)\n');
}
rmSync(STAMP, { force: true });
run(process.execPath, [createRequire(import.meta.url).resolve('@nestjs/cli/bin/nest.js'), 'build', 'api']);
run(process.execPath, [join(ROOT, 'scripts/bundle-sync-agent.mjs')]);
// Sources edited while the build ran: no fingerprint, so the next call builds them.
if (sourceFingerprint() === before) {
  writeFileSync(STAMP, before + '\n');
}
