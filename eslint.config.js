// ESLint flat config. The rules that matter for async driver code come first: a promise nobody
// awaits skips a preemption point (and loses its error), so floating and misused promises are errors.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['node_modules/', 'bench/results/', 'crash-reports/', 'captures/', '.dirql/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // `boolean | Promise<boolean>` (KeInsertQueueDpc and its NDIS/KMDF forms) tested without
      // await is always true: flag it in conditions too.
      '@typescript-eslint/no-misused-promises': ['error', { checksConditionals: { flagUnions: 'strict' } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
      // `let { a, b } = ...` where only `a` changes stays one declaration.
      'prefer-const': ['error', { destructuring: 'all' }],
      // tsc's noUnusedLocals/noUnusedParameters already report these.
      '@typescript-eslint/no-unused-vars': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
