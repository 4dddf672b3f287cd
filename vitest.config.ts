import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['rampart-source'] },
  ssr: { resolve: { conditions: ['rampart-source'] } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'examples/*/test/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    // `npm test -- --coverage` (CI): V8 coverage of the library, enforced (ADR 0019).
    coverage: {
      provider: 'v8',
      include: ['packages/rampart/src/**/*.ts'],
      exclude: ['**/*.test.ts', '**/test-*.ts'],
      reporter: ['text-summary', 'json-summary', 'html'],
      reportsDirectory: 'coverage',
      // The figures are printed even when a test fails (a flaky test must not hide them).
      reportOnFailure: true,
      // Remap by the source's syntax tree. The default remapping also counts the functions of a
      // second copy of the library that tsx loads in-process when the CLI tests read
      // rampart.config.ts (URLs with ?tsx-namespace=), each as a new never-called function:
      // functions read 78.8 % where the source's own functions are ~90 % covered (ADR 0019).
      experimentalAstAwareRemapping: true,
      thresholds: { lines: 80, branches: 80, functions: 80, statements: 80 },
    },
  },
})
