/**
 * A Dockerfile read into stages and instructions, and the production requirements of airlock's
 * image as checks that return problems. Docker is not needed: the file is checked as text.
 * Hand-written because the checks need only instruction names and arguments (continuation
 * lines joined, comments and parser directives dropped), not a full BuildKit parser.
 */
export interface Instruction {
  name: string
  args: string
}
export interface Stage {
  name: string | undefined
  from: string
  instructions: Instruction[]
}

export function parseDockerfile(text: string): Stage[] {
  const lines: string[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue
    const line = raw.replace(/\s+$/, '')
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `
      continue
    }
    const joined = (pending + line).trim()
    pending = ''
    if (joined !== '') lines.push(joined)
  }
  const stages: Stage[] = []
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/s.exec(line)
    if (!m) continue
    const name = (m[1] as string).toUpperCase()
    const args = m[2] as string
    if (name === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args)
      stages.push({ name: f?.[2], from: f?.[1] ?? '', instructions: [] })
    } else stages.at(-1)?.instructions.push({ name, args })
  }
  return stages
}

/** The argv of an exec-form (JSON array) instruction, or the shell form split on spaces. */
const argv = (args: string): string[] =>
  args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/)

const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|_KEY\b|CREDENTIAL|DSN/i

export function dockerfileProblems(text: string): string[] {
  const problems: string[] = []
  const stages = parseDockerfile(text)
  if (stages.length < 2) problems.push('the build must be multi-stage')
  const runtime = stages.at(-1)
  if (!runtime) return ['no FROM']
  const all = stages.flatMap((s) => s.instructions)
  const of = (s: Stage, name: string) => s.instructions.filter((i) => i.name === name)

  // Production dependencies come from a stage that ran `npm ci --omit=dev`.
  const prodStage = stages.find((s) =>
    of(s, 'RUN').some((i) => /\bnpm ci\b/.test(i.args) && /--omit[= ]dev\b/.test(i.args)),
  )
  if (!prodStage) problems.push('no stage runs npm ci --omit=dev')
  const modulesFrom = of(runtime, 'COPY')
    .filter((i) => /\bnode_modules\b/.test(i.args))
    .map((i) => /--from=(\S+)/.exec(i.args)?.[1])
  if (prodStage !== runtime && !(prodStage?.name && modulesFrom.includes(prodStage.name)))
    problems.push('the runtime stage must take node_modules from the npm ci --omit=dev stage')
  if (of(runtime, 'RUN').some((i) => /\b(g\+\+|gcc|make|python3)\b/.test(i.args)))
    problems.push('the runtime stage must not install a compiler')

  if (!of(runtime, 'ENV').some((i) => /\bNODE_ENV=production\b/.test(i.args)))
    problems.push('the runtime stage must set NODE_ENV=production')
  const user = of(runtime, 'USER').at(-1)?.args.split(':')[0]
  if (user === undefined || user === 'root' || user === '0')
    problems.push('the runtime stage must end as a non-root USER')
  const entry = of(runtime, 'ENTRYPOINT').at(-1)
  if (!entry || !argv(entry.args).some((a) => /(^|\/)(tini|dumb-init)$/.test(a)))
    problems.push('an init (tini) must be PID 1: ENTRYPOINT ["/usr/bin/tini", "--"]')
  const cmd = of(runtime, 'CMD').at(-1)
  if (!cmd || argv(cmd.args)[0] !== 'node') problems.push('CMD must run node directly')

  // No secret in a layer: no ARG/ENV named like one, no secret file copied in.
  for (const i of all.filter((i) => i.name === 'ARG' || i.name === 'ENV'))
    for (const pair of i.args.split(/\s+/))
      if (SECRET_NAME.test(pair.split('=')[0] as string))
        problems.push(`${i.name} ${pair.split('=')[0]} would keep a secret in the image`)
  for (const i of all.filter((i) => i.name === 'COPY' || i.name === 'ADD'))
    if (/(^|\s|\/)(\.env|secrets|\.npmrc|\.secret)\b/.test(i.args))
      problems.push(`${i.name} ${i.args} copies a secret into a layer`)
  return problems
}

/** Paths the build context must leave out (dependencies, local state, secrets, VCS). */
export const MUST_IGNORE = ['**/node_modules', '**/data', '.git', '.env', 'ops/secrets', '**/dist']

export function dockerignoreProblems(text: string): string[] {
  const entries = new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  )
  return MUST_IGNORE.filter((p) => !entries.has(p)).map((p) => `.dockerignore must list ${p}`)
}
