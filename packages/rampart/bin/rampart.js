#!/usr/bin/env node
// Runs the CLI. Inside the repository (TypeScript source and tsx present) it runs the source, so
// a stale or half-written dist/ never shadows it; an installed package runs dist/.
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

// Through npx or a global install argv[1] is the .bin symlink, not this file: tell main.ts it is the entry.
process.env.RAMPART_CLI_ENTRY = '1'
const source = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
// tsconfig.json is not published: its presence means we run from the repository.
const inRepo = existsSync(fileURLToPath(new URL('../tsconfig.json', import.meta.url)))
const tsx = inRepo ? await import('tsx/esm/api') : undefined
if (tsx) {
  tsx.register()
  await import(pathToFileURL(source).href)
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href)
}
