import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One file of the built console, held in memory (the whole console is a few hundred kilobytes). */
export interface ConsoleAsset {
  body: Buffer;
  /** The same body gzipped at build time, when the build made one. */
  gzip: Buffer | undefined;
  contentType: string;
  /** Hashed file names never change content: cached for a year. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** dist/console, found upwards from this file (works from src/ in tests and from dist/ when built). */
export function findConsoleDir(start = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = start;
  for (;;) {
    const candidate = join(dir, 'dist', 'console');
    if (existsSync(join(candidate, 'index.html'))) {
      return candidate;
    }
    const parent = resolve(dir, '..');
    if (parent === dir) {
      return undefined;
    }
    dir = parent;
  }
}

/** Every file the console build wrote, by name (`index.html`, `assets/app-3f2a….js`). */
export function loadConsoleAssets(dir: string | undefined = findConsoleDir()): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  if (dir === undefined) {
    return assets;
  }
  const add = (name: string, path: string, immutable: boolean) => {
    const extension = name.slice(name.lastIndexOf('.'));
    const type = TYPES[extension];
    if (type === undefined) {
      return;
    }
    assets.set(name, {
      body: readFileSync(path),
      gzip: existsSync(`${path}.gz`) ? readFileSync(`${path}.gz`) : undefined,
      contentType: type,
      immutable,
    });
  };
  add('index.html', join(dir, 'index.html'), false);
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) {
      if (!name.endsWith('.gz')) {
        add(`assets/${name}`, join(assetDir, name), true);
      }
    }
  }
  return assets;
}
