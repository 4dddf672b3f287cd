import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { dockerfileProblems, dockerignoreProblems, parseDockerfile } from './dockerfile.js'

const root = new URL('../../../../', import.meta.url)
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8')

describe("airlock's Dockerfile (read as text; Docker is not needed)", () => {
  it('is multi-stage: build, production dependencies, runtime', () => {
    expect(parseDockerfile(dockerfile).map((s) => s.name)).toEqual([
      'base',
      'toolchain',
      'build',
      'deps',
      'runtime',
    ])
  })

  it('runtime: npm ci --omit=dev modules, NODE_ENV=production, non-root, tini, no secrets', () => {
    expect(dockerfileProblems(dockerfile)).toEqual([])
  })

  it('each requirement fails when broken', () => {
    const without = (pattern: RegExp) =>
      dockerfile
        .split('\n')
        .filter((l) => !pattern.test(l))
        .join('\n')
    const cases: [string, string, RegExp][] = [
      ['USER removed', without(/^USER /), /non-root USER/],
      ['USER root', dockerfile.replace(/^USER node$/m, 'USER root'), /non-root USER/],
      ['no init', without(/^ENTRYPOINT /), /tini/],
      ['dev dependencies', dockerfile.replace('npm ci --omit=dev', 'npm ci'), /--omit=dev/],
      [
        'not production',
        dockerfile.replace('NODE_ENV=production', 'NODE_ENV=development'),
        /NODE_ENV/,
      ],
      [
        'secret in a layer',
        `${dockerfile}\nENV SECRET_KEY=abc\n`,
        /SECRET_KEY would keep a secret/,
      ],
      ['secret file', `${dockerfile}\nCOPY .env ./\n`, /copies a secret/],
      ['single stage', 'FROM node:24\nUSER node\nCMD ["node", "x.js"]\n', /multi-stage/],
    ]
    for (const [what, text, problem] of cases) {
      expect(text, what).not.toBe(dockerfile)
      expect(dockerfileProblems(text).join('\n'), what).toMatch(problem)
    }
  })

  it('.dockerignore keeps dependencies, local data, secrets and .git out of the context', () => {
    const ignore = readFileSync(new URL('.dockerignore', root), 'utf8')
    expect(dockerignoreProblems(ignore)).toEqual([])
    expect(dockerignoreProblems(ignore.replace('ops/secrets', ''))).toEqual([
      '.dockerignore must list ops/secrets',
    ])
  })
})
