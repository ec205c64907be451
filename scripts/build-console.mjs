#!/usr/bin/env node
/**
 * Builds the web console (console/src, Preact) into dist/console:
 * index.html, assets/app-<hash>.js and assets/app-<hash>.css, each also
 * gzipped (the API serves the .gz to browsers that accept it). Prints what
 * the first load weighs compressed and fails above the budget.
 *
 *   node scripts/build-console.mjs
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist', 'console');
/** The first load (page, script, styles), gzipped, must stay within this. */
const FIRST_LOAD_BUDGET_BYTES = 200 * 1024;

const result = await build({
  entryPoints: [join(ROOT, 'console/src/main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome120', 'firefox120', 'safari17'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  write: false,
  outdir: 'out',
  legalComments: 'none',
  logLevel: 'warning',
});
const file = (extension) => result.outputFiles.find((output) => output.path.endsWith(extension));
const script = Buffer.from(file('.js').contents);
const styles = readFileSync(join(ROOT, 'console/src/console.css'));
const hash = (body) => createHash('sha256').update(body).digest('hex').slice(0, 12);
const scriptName = `app-${hash(script)}.js`;
const styleName = `app-${hash(styles)}.css`;
const page = Buffer.from(
  readFileSync(join(ROOT, 'console/index.html'), 'utf8')
    .replace('%SCRIPT%', `/console/assets/${scriptName}`)
    .replace('%STYLES%', `/console/assets/${styleName}`),
);

rmSync(OUT, { recursive: true, force: true });
mkdirSync(join(OUT, 'assets'), { recursive: true });
let compressed = 0;
for (const [path, body] of [
  ['index.html', page],
  [`assets/${scriptName}`, script],
  [`assets/${styleName}`, styles],
]) {
  const gzip = gzipSync(body, { level: 9 });
  writeFileSync(join(OUT, path), body);
  writeFileSync(join(OUT, `${path}.gz`), gzip);
  compressed += gzip.length;
}
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
process.stderr.write(
  `[helopass] console built: first load ${kb(compressed)} gzipped (${kb(page.length + script.length + styles.length)} raw; budget ${kb(FIRST_LOAD_BUDGET_BYTES)})\n`,
);
if (compressed > FIRST_LOAD_BUDGET_BYTES) {
  process.stderr.write('[helopass] the console\'s first load is over its budget\n');
  process.exit(1);
}
