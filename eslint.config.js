// Type-aware linting, and one rule that keeps the layers one-way (ARCHITECTURE.md, Layout):
// domain imports nothing of ours; store only domain; services domain and store; http and cli
// services and domain (never store).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (from, banned) => ({
  files: [`src/${from}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: banned.map((b) => ({ group: [`**/${b}/*`, `**/${b}/**`], message: `src/${from} must not import from src/${b} (layers are one-way)` })),
    }],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'web/dist/', '.bench/', 'coverage/', 'bench/', 'bin/', 'scripts/', 'test/**/*.mjs', '*.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Fastify plugins and hooks are async by contract, awaited or not.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Test answers are JSON of many shapes; asserting on them is the point.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  layer('domain', ['store', 'services', 'http', 'cli', 'jobs', 'integrations']),
  layer('store', ['services', 'http', 'cli', 'jobs', 'integrations']),
  layer('services', ['http', 'cli']),
  layer('http', ['store', 'cli']),
  layer('cli', ['store', 'http/routes']),
);
