// ESLint 10 flat config: @eslint/js recommended + typescript-eslint
// recommended (syntax-only rules, no type information needed).
import path from 'node:path';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Node.js globals for plain JavaScript files (TypeScript files get theirs
// from the type checker, and typescript-eslint turns `no-undef` off for them).
const nodeGlobals = Object.fromEntries(
  [
    'AbortController',
    'AbortSignal',
    'Buffer',
    'URL',
    'URLSearchParams',
    'clearInterval',
    'clearTimeout',
    'console',
    'fetch',
    'globalThis',
    'process',
    'queueMicrotask',
    'setImmediate',
    'setInterval',
    'setTimeout',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
);

// Each app (apps/<name>) is built and run on its own; what two apps share
// lives in libs/ and is imported as @app/<lib>. An import that reaches into
// another app's folder (apps/api importing apps/worker, a lib importing an
// app) is an error. A path to another app's built file to run is not an import.
const root = import.meta.dirname;

/** `apps/<name>` of a file, `libs` for a lib, null elsewhere (tests, scripts). */
function areaOf(file) {
  const [top, name] = path.relative(root, file).split(path.sep);
  if (top === 'apps' && name !== undefined) {
    return `apps/${name}`;
  }
  return top === 'libs' ? 'libs' : null;
}

const noCrossAppImports = {
  meta: {
    type: 'problem',
    docs: { description: "forbid importing another app's code (share it through libs/ instead)" },
    schema: [],
    messages: {
      crossApp: '{{from}} must not import {{to}} code ("{{source}}"); move what both need into a lib under libs/',
    },
  },
  create(context) {
    const from = areaOf(context.filename);
    if (from === null) {
      return {};
    }
    const check = (source) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string' || !source.value.startsWith('.')) {
        return;
      }
      const to = areaOf(path.resolve(path.dirname(context.filename), source.value));
      if (to !== null && to !== 'libs' && to !== from) {
        context.report({ node: source, messageId: 'crossApp', data: { from, to, source: source.value } });
      }
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};

// What each lib may import of the others (`@app/<lib>`, or a relative path
// into libs/<lib>). The enforcement core stands alone: the policy server
// runs on it with nothing but the database, config and domain libs. Edges
// point one way, so no two libs import each other.
export const LIB_DEPENDENCIES = {
  domain: [],
  metrics: [],
  config: ['domain'],
  database: ['config', 'domain', 'metrics'],
  dns: ['domain'],
  enforcement: ['config', 'database', 'domain', 'metrics'],
  access: ['config', 'database', 'domain'],
  ownership: ['config', 'database', 'dns', 'domain', 'metrics'],
  exceptions: ['config', 'database', 'dns', 'domain', 'enforcement', 'ownership'],
  registry: ['database', 'domain', 'exceptions'],
  worker: ['config', 'database', 'dns', 'domain', 'enforcement', 'exceptions', 'metrics', 'notifications', 'ownership'],
  runtime: ['config', 'database', 'domain'],
  notifications: ['config', 'database', 'dns', 'domain'],
  policy: ['config', 'database', 'domain', 'enforcement', 'metrics'],
};

/** The lib (`libs/<name>`) a file belongs to, or null. */
function libOf(file) {
  const [top, name] = path.relative(root, file).split(path.sep);
  return top === 'libs' && name !== undefined ? name : null;
}

const libDependencies = {
  meta: {
    type: 'problem',
    docs: { description: 'a lib imports only the libs it is allowed to (LIB_DEPENDENCIES)' },
    schema: [],
    messages: {
      unknownLib: 'libs/{{from}} is not listed in LIB_DEPENDENCIES (eslint.config.js): say which libs it may import',
      forbidden: 'libs/{{from}} must not import libs/{{to}} ("{{source}}"); it may import: {{allowed}}',
    },
  },
  create(context) {
    const from = libOf(context.filename);
    if (from === null) {
      return {};
    }
    const allowed = LIB_DEPENDENCIES[from];
    const check = (source) => {
      if (source?.type !== 'Literal' || typeof source.value !== 'string') {
        return;
      }
      let to = null;
      const alias = /^@app\/([a-z-]+)/.exec(source.value);
      if (alias !== null) {
        to = alias[1];
      } else if (source.value.startsWith('.')) {
        to = libOf(path.resolve(path.dirname(context.filename), source.value));
      }
      if (to === null || to === from) {
        return;
      }
      if (allowed === undefined) {
        context.report({ node: source, messageId: 'unknownLib', data: { from } });
      } else if (!allowed.includes(to)) {
        context.report({ node: source, messageId: 'forbidden', data: { from, to, source: source.value, allowed: allowed.join(', ') || 'none' } });
      }
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/', '.data/', 'coverage/', 'libs/database/src/generated/']),

  js.configs.recommended,
  tseslint.configs.recommended,

  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: {
      ecmaVersion: 'latest',
      sourceType: 'module',
      globals: nodeGlobals,
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },

  {
    rules: {
      // `_name` marks a deliberately unused parameter, variable or binding.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // DTOs take optional fields and instants through the shared validators
    // (apps/api/src/common/validators.ts): IsOptional() lets null through
    // every other check, and IsDate() takes years PostgreSQL cannot store.
    files: ['apps/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'class-validator',
              importNames: ['IsOptional', 'IsDate'],
              message: 'use IsOptionalNonNull() / IsInstant() from apps/api/src/common/validators.ts',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/**/*.{ts,js,mjs}', 'libs/**/*.{ts,js,mjs}'],
    plugins: { helopass: { rules: { 'no-cross-app-imports': noCrossAppImports, 'lib-dependencies': libDependencies } } },
    rules: { 'helopass/no-cross-app-imports': 'error', 'helopass/lib-dependencies': 'error' },
  },
  {
    // Specs read JSON response bodies, whose shape the assertions themselves check.
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
]);
