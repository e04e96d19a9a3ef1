// typescript-eslint's type-aware rules catch what matters most here: a promise
// nobody awaits or catches, and a switch over a message kind that misses one.
// @stylistic holds the line length. Run by `npm test` (after the build: tests
// import the built package).
import tseslint from 'typescript-eslint';
import stylistic from '@stylistic/eslint-plugin';

export default tseslint.config(
  { ignores: ['dist/', 'dist-test/', 'bench/', 'node_modules/', 'test/fixtures/', '**/*.mjs', '**/*.cjs', '**/*.js'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { '@stylistic': stylistic },
    rules: {
      '@stylistic/max-len': ['error', { code: 140, ignoreUrls: true, ignoreRegExpLiterals: true }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // Passing on a caught `unknown` (a rethrow through a promise) is allowed; a literal is not.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's test() and describe() return promises its runner awaits.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }],
      }],
    },
  },
);
