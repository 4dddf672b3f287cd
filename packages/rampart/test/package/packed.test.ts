import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { extractSnippets } from '../support/doc-snippets.js'

// The package as users get it: `npm pack` on a tree without dist/ (prepack must build it), the
// tarball installed into a project outside the workspace with only the npm registry, a consumer
// type-checked under --strict / nodenext against the shipped .d.ts and run with plain node, every
// documentation snippet compiled, the README's quick start run and called, and a feature whose
// optional peer is absent refused at start-up with one line naming the package.
const pkgDir = new URL('../../', import.meta.url).pathname
const rootDir = new URL('../../../../', import.meta.url).pathname
const scratch = mkdtempSync(join(tmpdir(), 'rampart-packed-'))
const children: ChildProcess[] = []
afterAll(() => {
  for (const child of children) child.kill('SIGKILL')
  rmSync(scratch, { recursive: true, force: true })
})

// Asynchronous, so the test worker stays responsive during installs and builds.
const execFileAsync = promisify(execFile)
const run = async (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  (
    await execFileAsync(cmd, args, {
      cwd,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, ...env },
    })
  ).stdout
/** Exit code and output of a command expected to fail. */
const runFailing = async (args: string[], env: NodeJS.ProcessEnv) =>
  run(process.execPath, args, scratch, env).then(
    (stdout) => ({ code: 0, out: stdout }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      out: `${err.stdout}${err.stderr}`,
    }),
  )
/** Type errors, with the snippet each file came from, for a readable failure. */
const tsc = (project: string) =>
  run(join(scratch, 'node_modules/.bin/tsc'), ['-p', project], scratch).catch(
    (err: { stdout: string }) => {
      throw new Error(`tsc -p ${project}:\n${err.stdout}`)
    },
  )

const CONSUMER = `import Fastify, { type FastifyContextConfig } from 'fastify'
import rampart, { type AuditRecord, bindUser, csrfField, HttpError } from 'rampart/fastify'
import { createRedactor, type RampartOptions, withSpan } from 'rampart'
import { resolveConfig } from 'rampart/internal'

const options: RampartOptions = { service: 'orders', maxBodyKb: 64 }
const app = Fastify()
await app.register(rampart, options)
// Every augmentation a user touches: route config keys, the helmet route option,
// request.csrfToken(), request.rampartContext, app.rampart.audit and .rateLimiter.
app.get('/form', { config: { rateLimit: 'read', csrf: true, sensitive: true }, helmet: false }, async (request) => {
  const token: string = request.csrfToken()
  const requestId: string = request.rampartContext.requestId
  return { token, requestId, field: csrfField(request) }
})
// Audited routes need the audit database's driver, an optional peer this project lacks: the
// route config keys are type-checked here, the audited route is not registered.
const audited: FastifyContextConfig = { audit: 'x.done', rateLimit: false, csrf: false }
const row: Parameters<typeof app.rampart.audit.record>[0] & AuditRecord = { action: 'x.done' }
void [audited, row]
app.post('/x', { config: { rateLimit: false } }, async () => {
  bindUser('u1')
  await withSpan('x.work', { 'x.n': 1 }, async (span) => span.setAttribute('x.ok', true))
  const c = app.rampart.metrics.counter({ name: 'x_total', help: 'x', labelNames: ['k'] as const })
  c.inc({ k: 'v' })
  if (app.rampart.rateLimiter === undefined) throw new HttpError(503)
  return { ok: createRedactor().redactString('password=x') }
})
void resolveConfig
await app.ready()
const res = await app.inject({ url: '/form' })
console.log(JSON.stringify({ status: res.statusCode, token: typeof res.json().token }))
await app.close()
`

/** Starts a feature without its optional peer; prints the start-up error's message. */
const PEERLESS = `import Fastify from 'fastify'
import rampart from 'rampart/fastify'
try {
  const app = Fastify()
  await app.register(rampart, { service: 'peerless' })
  if (process.argv[2] === 'audit') app.post('/a', { config: { audit: true } }, async () => 'ok')
  await app.ready()
  console.log('started')
  await app.close()
} catch (err) {
  console.log(err.message)
  process.exitCode = 1
}
`

const tsconfig = (files: string[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    compilerOptions: {
      strict: true,
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      target: 'ES2022',
      skipLibCheck: true,
      types: ['node'],
      ...extra,
    },
    files,
  })

/** Starts `file`, resolves with the URL it prints it listens on. */
function listen(file: string): Promise<{ url: string; log: () => string }> {
  const child = spawn(process.execPath, [file], {
    cwd: scratch,
    env: { ...process.env, PORT: '0', LOG_FORMAT: 'json', NODE_ENV: 'development' },
  })
  children.push(child)
  let out = ''
  child.stderr.on('data', (d: Buffer) => {
    out += d
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} printed no URL:\n${out}`)), 30_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
      if (url) {
        clearTimeout(timer)
        resolve({ url, log: () => out })
      }
    })
    child.on('exit', (code) => reject(new Error(`${file} exited ${code}:\n${out}`)))
  })
}

describe('the packed package', () => {
  it('npm pack builds dist/ itself, and the tarball installs outside the workspace', async () => {
    // A clean clone has no dist/: only the prepack script can put it in the tarball.
    rmSync(join(pkgDir, 'dist'), { recursive: true, force: true })
    const listing = JSON.parse(
      await run('npm', ['pack', '--json', '--pack-destination', scratch], pkgDir),
    ) as { filename: string; files: { path: string }[] }[]
    const packed = listing[0] as { filename: string; files: { path: string }[] }
    const paths = packed.files.map((f) => f.path)
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/internal.js',
      'dist/internal.d.ts',
      'dist/adapters/fastify/index.d.ts',
      'dist/adapters/fastify/types.d.ts',
      'dist/adapters/express/index.d.ts',
      'dist/otel.js',
      'dist/cli/main.js',
      'bin/rampart.js',
      'LICENSE',
      'README.md',
    ])
      expect(paths, file).toContain(file)
    expect(paths.filter((p) => p.includes('.test.'))).toEqual([])
    // `npm publish --dry-run` finds nothing to correct in package.json (bin, exports, files...).
    const publish = await execFileAsync('npm', ['publish', '--dry-run', '--ignore-scripts'], {
      cwd: pkgDir,
      encoding: 'utf8',
    })
    const warnings = publish.stderr
      .split('\n')
      .filter((l) => /\bwarn\b/.test(l) && !/requires you to be logged in/.test(l))
    expect(warnings).toEqual([])

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
        join(scratch, packed.filename),
        'fastify@5',
        // The docs' Express snippets (docs/express.md) compile against the optional peer.
        'express@5',
        '@types/express@5',
        'typescript@5',
        '@types/node@22',
      ],
      scratch,
    )
    // The CLI answers from the installed package (dist/, no tsx).
    expect(await run(join(scratch, 'node_modules/.bin/rampart'), ['--help'], scratch)).toMatch(
      /rampart/,
    )
  }, 300_000)

  it('a consumer type-checks under --strict with every augmentation, and runs with plain node', async () => {
    writeFileSync(join(scratch, 'consumer.ts'), CONSUMER)
    writeFileSync(
      join(scratch, 'tsconfig.consumer.json'),
      tsconfig(['consumer.ts'], { outDir: 'out' }),
    )
    await tsc('tsconfig.consumer.json')
    const out = await run(process.execPath, ['out/consumer.js'], scratch)
    // stdout carries the access lines too; the consumer's own line is the one with the token.
    const printed = out.split('\n').find((l) => l.includes('"token"')) as string
    expect(JSON.parse(printed)).toEqual({
      status: 200,
      token: 'string',
    })
  }, 120_000)

  it('every TypeScript snippet of the READMEs and docs/ compiles against the package', async () => {
    const snippets = extractSnippets(rootDir)
    expect(snippets.length).toBeGreaterThan(15)
    mkdirSync(join(scratch, 'snippets'), { recursive: true })
    copyFileSync(
      join(pkgDir, 'test/package/fixtures/doc-globals.d.ts'),
      join(scratch, 'snippets/doc-globals.d.ts'),
    )
    const files = ['snippets/doc-globals.d.ts']
    for (const s of snippets) {
      const file = `snippets/${s.file}`
      // `export {}` makes every snippet a module (its own scope, top-level await allowed).
      writeFileSync(join(scratch, file), `// ${s.page}:${s.line}\n${s.code}\nexport {}\n`)
      files.push(file)
    }
    writeFileSync(join(scratch, 'tsconfig.snippets.json'), tsconfig(files, { noEmit: true }))
    await tsc('tsconfig.snippets.json')
  }, 120_000)

  it("the READMEs' quick start runs as written: prints its URL, answers, logs the user", async () => {
    const runnable = extractSnippets(rootDir).filter((s) => s.runnable)
    // The README's Fastify and Express set-ups, and the package README's.
    expect(runnable.map((s) => s.page).sort()).toEqual([
      'README.md',
      'README.md',
      'packages/rampart/README.md',
    ])
    for (const [i, s] of runnable.entries()) {
      const file = `quickstart-${i}.ts`
      writeFileSync(join(scratch, file), s.code)
      writeFileSync(join(scratch, `tsconfig.${file}.json`), tsconfig([file], { outDir: 'out' }))
      await tsc(`tsconfig.${file}.json`)
      const { url, log } = await listen(`out/${file.replace(/\.ts$/, '.js')}`)
      const denied = await fetch(`${url}/orders/7`)
      expect(denied.status, s.page).toBe(401)
      expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      const res = await fetch(`${url}/orders/7`, {
        headers: { authorization: 'Bearer demo-token' },
      })
      expect(res.status, s.page).toBe(200)
      expect(await res.json()).toEqual({ id: '7' })
      expect(res.headers.get('x-request-id')).toMatch(/.+/)
      await expect
        .poll(() =>
          log()
            .split('\n')
            .filter((l) => l.includes('"request.completed"') && l.includes('"status":200')),
        )
        .toHaveLength(1)
      const line = JSON.parse(
        log()
          .split('\n')
          .find((l) => l.includes('"request.completed"') && l.includes('"status":200')) as string,
      )
      expect(line).toMatchObject({
        route: '/orders/:id',
        method: 'GET',
        status: 200,
        user_id: 'user-42',
        request_id: res.headers.get('x-request-id'),
      })
      expect(line.latency_ms).toEqual(expect.any(Number))
    }
  }, 120_000)

  it('a feature whose optional peer is missing fails at start-up with one line naming it', async () => {
    writeFileSync(join(scratch, 'peerless.mjs'), PEERLESS)
    const cases: [string[], NodeJS.ProcessEnv, string][] = [
      [['peerless.mjs', 'audit'], {}, 'better-sqlite3'],
      [['peerless.mjs', 'audit'], { AUDIT_DB: 'postgres://u@127.0.0.1:1/x' }, 'pg'],
      [['peerless.mjs'], { RATE_LIMIT_STORE: 'redis://127.0.0.1:1' }, 'ioredis'],
      [
        ['peerless.mjs'],
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' },
        '@opentelemetry/exporter-trace-otlp-proto',
      ],
      [
        ['--import', 'rampart/otel', '-e', ''],
        { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' },
        '@opentelemetry/exporter-trace-otlp-proto',
      ],
    ]
    for (const [args, env, name] of cases) {
      const { code, out } = await runFailing(args, { ...env, LOG_LEVEL: 'silent' })
      expect(code, `${args.join(' ')} ${JSON.stringify(env)}`).toBe(1)
      const lines = out.trim().split('\n')
      expect(lines, out).toHaveLength(1)
      expect(lines[0]).toContain(name)
      expect(lines[0]).toMatch(/npm install/)
    }
    // Without those features the bare install starts.
    expect((await runFailing(['peerless.mjs'], { LOG_LEVEL: 'silent' })).out.trim()).toBe('started')
  }, 120_000)
})
