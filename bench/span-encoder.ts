import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { haveCallgrind } from './lib/instruction-count.js'

/**
 * Instructions per span of the OTLP/protobuf encoding alone (issue 24's first lever): the SDK's
 * `ProtobufTraceSerializer` against Rampart's `OtlpTraceEncoder`, over batches of 512 server
 * spans as the tracing server makes them, under callgrind, counting only the encoding loop.
 */
const CHILD = fileURLToPath(new URL('./lib/span-encoder-child.ts', import.meta.url))
const SPANS = 512 * 20

function count(which: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-encoder-'))
  try {
    execFileSync(
      'valgrind',
      [
        '--tool=callgrind',
        '--instr-atstart=no',
        `--callgrind-out-file=${join(dir, 'cg.out')}`,
        process.execPath,
        '--predictable',
        '--import',
        'tsx',
        CHILD,
        which,
      ],
      { stdio: 'ignore' },
    )
    let total = 0
    for (const f of readdirSync(dir)) {
      const m = /^totals: (\d+)$/m.exec(readFileSync(join(dir, f), 'utf8'))
      if (m?.[1]) total += Number(m[1])
    }
    return total / SPANS
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export default async () => {
  if (!haveCallgrind())
    return { markdown: '### Span encoder\n\nskipped: valgrind is not installed\n' }
  const rows = [
    ['SDK `ProtobufTraceSerializer.serializeRequest`', count('sdk')],
    ['Rampart `OtlpTraceEncoder.encode`', count('rampart')],
    ["(reading each span's start and end time once)", count('getters')],
  ] as const
  const markdown = [
    '### Span encoder: instructions per span (callgrind)',
    '',
    `Node ${process.version}; batches of 512 server spans (\`GET /items/:id\`, 7 attributes), 20 batches counted after 40 of warm-up.`,
    '',
    '| encoder | instructions/span |',
    '|---|---:|',
    ...rows.map(([name, n]) => `| ${name} | ${(n / 1000).toFixed(1)}k |`),
    '',
  ].join('\n')
  return { markdown }
}
