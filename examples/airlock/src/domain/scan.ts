import { createReadStream } from 'node:fs'
import { extname } from 'node:path'
import { parse } from 'csv-parse'

/** A data cell the small-cell rule flags: 1-based row (the header is row 1) and its column. */
export interface ScanFinding {
  row: number
  column: string
  value: string
}

/** What an output check decided about one file. */
export type ScanVerdict =
  | { status: 'clean'; findings: [] }
  | { status: 'flagged'; findings: ScanFinding[]; truncated?: number }
  | { status: 'failed'; findings: []; detail: string }

/** At most this many offending cells are listed; the rest are only counted. */
export const MAX_FINDINGS = 100

/**
 * A count from 1 to 9 written as an integer (`3`, ` 7 `, `+4`, `05`, `2.0`): the small counts
 * output checkers refuse to release, because they can identify people.
 */
// eslint-disable-next-line security/detect-unsafe-regex -- linear: anchored, no nested or overlapping quantifiers
const SMALL_COUNT = /^\+?0*[1-9](?:\.0+)?$/

/** The delimiter of a table file by its name, or undefined for anything that is not a table. */
export function tableDelimiter(name: string): ',' | '\t' | undefined {
  const ext = extname(name).toLowerCase()
  return ext === '.csv' ? ',' : ext === '.tsv' ? '\t' : undefined
}

/**
 * The output check of one stored file (`name` is the client's name, for its type only). A CSV
 * or TSV with any data cell holding a small count is `flagged`, with the cells listed; other
 * tables and other files are `clean`; a table that cannot be read or parsed (bad quoting, gone
 * from disk) is `failed`. The file is streamed through csv-parse: memory stays bounded whatever
 * its size.
 */
export async function scanFile(path: string, name: string): Promise<ScanVerdict> {
  const delimiter = tableDelimiter(name)
  if (delimiter === undefined) return { status: 'clean', findings: [] }
  const findings: ScanFinding[] = []
  let flaggedCells = 0
  let header: string[] | undefined
  let row = 0
  try {
    // eslint-disable-next-line security/detect-non-literal-fs-filename -- the storage path the server chose, never a client's name
    const parser = createReadStream(path).pipe(
      parse({ delimiter, relax_column_count: true, bom: true, skip_empty_lines: true }),
    )
    for await (const record of parser as AsyncIterable<string[]>) {
      row++
      if (header === undefined) {
        header = record
        continue
      }
      record.forEach((cell, i) => {
        if (!SMALL_COUNT.test(cell.trim())) return
        flaggedCells++
        if (findings.length < MAX_FINDINGS)
          findings.push({ row, column: header?.[i] || `column ${i + 1}`, value: cell })
      })
    }
  } catch (err) {
    return { status: 'failed', findings: [], detail: failure(err) }
  }
  if (flaggedCells === 0) return { status: 'clean', findings: [] }
  return flaggedCells > findings.length
    ? { status: 'flagged', findings, truncated: flaggedCells - findings.length }
    : { status: 'flagged', findings }
}

/** Why a table could not be read, for the checker: csv-parse's reason, never a server path. */
function failure(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code.startsWith('CSV_') && err instanceof Error)
    return (err.message.split('\n')[0] ?? code).slice(0, 200)
  return `the stored file could not be read${typeof code === 'string' ? ` (${code})` : ''}`
}
