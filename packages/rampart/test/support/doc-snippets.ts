import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'

/** One TypeScript block of a Markdown page. */
export interface Snippet {
  /** Page, relative to the repository root. */
  page: string
  /** 1-based line of the opening fence. */
  line: number
  /** File name to compile it under: the `// name.ts` of its first line, else derived from the page. */
  file: string
  code: string
  /** A README snippet that listens: the package test runs it and calls it. */
  runnable: boolean
}

/** Every Markdown file under `dir`, recursively. */
export function markdownUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? markdownUnder(join(dir, e.name))
      : e.name.endsWith('.md')
        ? [join(dir, e.name)]
        : [],
  )
}

/** The pages users read: both READMEs and everything under docs/. */
export function documentationPages(root: string): string[] {
  return [
    join(root, 'README.md'),
    join(root, 'packages/rampart/README.md'),
    ...markdownUnder(join(root, 'docs')),
  ]
}

/**
 * Every ```ts / ```typescript block of the pages. A block whose first line is a comment naming a
 * file (`// rampart.config.ts`) is written under that name, so a later block can import it.
 */
export function extractSnippets(root: string, pages = documentationPages(root)): Snippet[] {
  const out: Snippet[] = []
  for (const path of pages) {
    const page = relative(root, path)
    const lines = readFileSync(path, 'utf8').split('\n')
    let start = -1
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i] as string
      if (start === -1 && /^```(ts|typescript)\s*$/.test(text)) start = i
      else if (start !== -1 && /^```\s*$/.test(text)) {
        const code = lines.slice(start + 1, i).join('\n')
        const named = /^\/\/ ([\w.-]+\.ts)\b/.exec(code)?.[1]
        const slug = page.replace(/\.md$/, '').replace(/[^\w]+/g, '-')
        out.push({
          page,
          line: start + 1,
          file: named ?? `${slug}-L${start + 1}.ts`,
          code,
          runnable: /README\.md$/.test(page) && /\.listen\(/.test(code),
        })
        start = -1
      }
    }
  }
  return out
}
