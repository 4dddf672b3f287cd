// npm run bench [suite …] — runs benchmark suites one after another and prints Markdown tables.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const dir = fileURLToPath(new URL('.', import.meta.url))
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.replace(/\.ts$/, ''))
  .sort()
const wanted = process.argv.slice(2)
for (const w of wanted) {
  if (!available.includes(w)) {
    process.stderr.write(`bench: unknown suite "${w}"; available: ${available.join(', ')}\n`)
    process.exit(2)
  }
}
mkdirSync(new URL('./results/', import.meta.url), { recursive: true })
for (const name of wanted.length ? wanted : available) {
  process.stderr.write(`== ${name}\n`)
  const mod = (await import(pathToFileURL(`${dir}${name}.ts`).href)) as {
    default: () => Promise<{ markdown: string }>
  }
  const { markdown } = await mod.default()
  process.stdout.write(`${markdown}\n`)
  writeFileSync(new URL(`./results/${name}.md`, import.meta.url), markdown)
}
