import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// No app imports another app's code (STYLE.md): each is built and run on its
// own, and what two apps share lives in libs/. eslint.config.js enforces it
// (helopass/no-cross-app-imports); these specs show the rule bites, and scan
// the tree themselves.
const root = path.resolve(import.meta.dirname, '..');

async function ruleErrors(rule: string, filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, filePath) });
  return result!.messages.filter((message) => message.ruleId === rule).map((message) => message.message);
}

const crossAppErrors = (filePath: string, code: string) => ruleErrors('helopass/no-cross-app-imports', filePath, code);
const libErrors = (filePath: string, code: string) => ruleErrors('helopass/lib-dependencies', filePath, code);

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.parentPath.includes('generated'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** `apps/<name>` or `libs` for a path under the repository. */
function area(file: string): string | null {
  const [top, name] = path.relative(root, file).split(path.sep);
  return top === 'apps' && name !== undefined && !name.endsWith('.ts') ? `apps/${name}` : top === 'libs' ? 'libs' : null;
}

describe('app boundaries', () => {
  it('the lint rule refuses an app importing another app, or a lib importing an app', async () => {
    expect(await crossAppErrors('apps/api/src/main.ts', "import { startWorker } from '../../worker/src/worker.js';\n")).toEqual([
      'apps/api must not import apps/worker code ("../../worker/src/worker.js"); move what both need into a lib under libs/',
    ]);
    expect(await crossAppErrors('apps/api/src/probe.ts', "export * from '../../cli/src/runtime.js';\n")).toHaveLength(1);
    expect(await crossAppErrors('apps/worker/src/probe.ts', "await import('../../api/src/bootstrap.js');\n")).toHaveLength(1);
    expect(await crossAppErrors('libs/ownership/src/probe.ts', "import '../../../apps/worker/src/worker.js';\n")).toHaveLength(1);
  });

  it('the lint rule lets an app import its own code and libs, and tests import any app', async () => {
    expect(await crossAppErrors('apps/api/src/main.ts', "import { createApp } from './bootstrap.js';\nimport { loadConfig } from '@app/config';\n")).toEqual([]);
    expect(await crossAppErrors('apps/api/src/probe.ts', "import { x } from '../../../libs/dns/src/index.js';\nconsole.log(x);\n")).toEqual([]);
    expect(await crossAppErrors('test/probe.e2e-spec.ts', "import { startWorker } from '../apps/worker/src/worker.js';\nconsole.log(startWorker);\n")).toEqual([]);
  });

  it('no file under apps/ or libs/ imports another app today', () => {
    const crossings: string[] = [];
    for (const file of [...sources('apps'), ...sources('libs')]) {
      const from = area(file);
      if (from === null) {
        continue; // this spec, beside the apps
      }
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.[^'"]*)['"]/g)) {
        const to = area(path.resolve(path.dirname(file), match[1]!));
        if (to !== null && to !== 'libs' && to !== from) {
          crossings.push(`${path.relative(root, file)} → ${match[1]}`);
        }
      }
    }
    expect(crossings).toEqual([]);
  });
});

describe('lib dependencies', () => {
  it('the enforcement core imports only the database, config, domain and metrics libs', async () => {
    expect(await libErrors('libs/enforcement/src/probe.ts', "import { ExceptionsService } from '@app/exceptions';\nconsole.log(ExceptionsService);\n")).toEqual([
      'libs/enforcement must not import libs/exceptions ("@app/exceptions"); it may import: config, database, domain, metrics',
    ]);
    expect(await libErrors('libs/enforcement/src/probe.ts', "export * from '../../ownership/src/index.js';\n")).toHaveLength(1);
    expect(await libErrors('libs/enforcement/src/probe.ts', "await import('@app/dns');\n")).toHaveLength(1);
    expect(
      await libErrors('libs/enforcement/src/probe.ts', "import { PrismaService } from '@app/database';\nimport { loadConfig } from '@app/config';\nimport { Clock } from '@app/domain';\nimport { x } from './x.js';\nconsole.log(PrismaService, loadConfig, Clock, x);\n"),
    ).toEqual([]);
  });

  it('config parses its settings without the DNS library; a lib that is not listed must say what it imports', async () => {
    expect(await libErrors('libs/config/src/probe.ts', "import { parseResolverList } from '@app/dns';\nconsole.log(parseResolverList);\n")).toHaveLength(1);
    expect(await libErrors('libs/newlib/src/probe.ts', "import { Clock } from '@app/domain';\nconsole.log(Clock);\n")).toEqual([
      'libs/newlib is not listed in LIB_DEPENDENCIES (eslint.config.js): say which libs it may import',
    ]);
  });

  it('every lib in libs/ is listed, and no two libs import each other (directly or around a cycle)', async () => {
    const { LIB_DEPENDENCIES } = (await import(path.join(root, 'eslint.config.js'))) as { LIB_DEPENDENCIES: Record<string, string[]> };
    const libs = readdirSync(path.join(root, 'libs'), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    expect(Object.keys(LIB_DEPENDENCIES).sort()).toEqual(libs.sort());
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycleFrom = (lib: string): boolean => {
      if (done.has(lib)) return false;
      if (visiting.has(lib)) return true;
      visiting.add(lib);
      const found = (LIB_DEPENDENCIES[lib] ?? []).some(cycleFrom);
      visiting.delete(lib);
      done.add(lib);
      return found;
    };
    expect(libs.filter(cycleFrom)).toEqual([]);
  });
});
