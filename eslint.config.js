// ESLint flat config: neostandard (the "standard" style the code follows) for the TypeScript
// sources, tests, benchmarks and scripts, and the review page's browser JavaScript.
import neostandard, { plugins } from 'neostandard'
import globals from 'globals'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', '.test-build-*/**', 'coverage/**', '.data/**', '.tap/**', 'openapi/**', 'migrations-fixtures/**', 'test/artifacts/**']
  }),
  {
    files: ['ui/**/*.js'],
    languageOptions: { globals: { ...globals.browser } }
  },
  {
    // Lines a reader can see whole: long signatures and calls are wrapped.
    plugins: { '@stylistic': plugins['@stylistic'] },
    rules: {
      // SQL reads best in template literals (its own quotes need no escaping), as the code has it.
      '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: true }],
      // `void promise()` marks a promise deliberately not awaited.
      'no-void': ['error', { allowAsStatement: true }],
      '@stylistic/max-len': ['error', { code: 160, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }]
    }
  }
]
