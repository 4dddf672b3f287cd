import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

// Tests the package as users get it: build, pack, install the tarball into a scratch app,
// import every subpath of `exports` and type-check a consumer file against the built types.
const pkgDir = new URL('../../', import.meta.url).pathname
const rootDir = new URL('../../../../', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
  version: string
  exports: Record<string, unknown>
  peerDependencies: Record<string, string>
}
const scratch = mkdtempSync(join(tmpdir(), 'rampart-packed-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

// Asynchronous, so the test worker stays responsive during installs and builds.
const execFileAsync = promisify(execFile)
const run = async (cmd: string, args: string[], cwd: string) =>
  (await execFileAsync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })).stdout

describe('the packed package', () => {
  it('installs from its tarball, every subpath imports, and a consumer type-checks', async () => {
    await run('npm', ['run', 'build'], pkgDir)
    const packed = await run('npm', ['pack', '--pack-destination', scratch, '--silent'], pkgDir)
    const tarball = packed.trim().split('\n').pop() as string
    writeFileSync(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    )
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        join(scratch, tarball),
        'fastify@5',
        `typescript@5`,
        '@types/node@20',
      ],
      scratch,
    )
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json')
    const specifiers = subpaths.map((k) => (k === '.' ? 'rampart' : `rampart/${k.slice(2)}`))
    const script = specifiers.map((s) => `await import('${s}')`).join(';')
    await run(
      process.execPath,
      ['--input-type=module', '-e', `${script}; console.log('ok')`],
      scratch,
    )

    writeFileSync(
      join(scratch, 'consumer.ts'),
      `import Fastify from 'fastify'
import rampart, { bindUser } from 'rampart/fastify'
import { createRedactor, resolveConfig, type RampartOptions, withSpan } from 'rampart'
const options: RampartOptions = { service: 'orders', maxBodyKb: 64 }
const app = Fastify()
await app.register(rampart, options)
app.get('/x', { config: { rateLimit: 'read', audit: false } }, async () => {
  bindUser('u1')
  await withSpan('x.work', { 'x.n': 1 }, async (span) => span.setAttribute('x.ok', true))
  const c = app.rampart.metrics.counter({ name: 'x_total', help: 'x', labelNames: ['k'] as const })
  c.inc({ k: 'v' })
  return { ok: createRedactor().redactString('password=x') }
})
void resolveConfig
`,
    )
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    )
    await run(join(scratch, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], scratch)
    expect(specifiers).toContain('rampart/fastify')
    expect(specifiers).toContain('rampart/otel')
    void rootDir
  }, 300_000)
})
