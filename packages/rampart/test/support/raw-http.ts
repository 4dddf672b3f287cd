import { connect } from 'node:net'

/** One HTTP/1.1 answer as read off the wire. */
export interface RawAnswer {
  status: number
  /** Lower-cased names; a repeated header keeps its values joined with `, `. */
  headers: Record<string, string>
  body: string
}

/** Every answer read off one connection: interim (1xx) ones first, then the final ones. */
export interface RawExchange {
  interim: RawAnswer[]
  answers: RawAnswer[]
  /** The bytes received, as latin1 text. */
  text: string
}

/** Splits `text` into the HTTP/1.1 answers it holds (Content-Length framing only). */
function parseAnswers(text: string): RawAnswer[] {
  const out: RawAnswer[] = []
  let rest = text
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n')
    if (end === -1) break
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n')
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const status = Number(statusLine.split(' ')[1])
    const length = status < 200 ? 0 : Number(headers['content-length'] ?? 0)
    const body = rest.slice(end + 4, end + 4 + length)
    out.push({ status, headers, body })
    rest = rest.slice(end + 4 + length)
  }
  return out
}

/**
 * Writes `bytes` exactly as given on a new connection (no client normalises them) and reads
 * until the server closes it, `closeAfterMs` passes, or `answers` final answers arrived.
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  options: {
    closeAfterMs?: number
    answers?: number
    /** More bytes to write on the same connection this long after connecting. */
    later?: { afterMs: number; bytes: string }
  } = {},
): Promise<RawExchange> {
  const { closeAfterMs = 5000, answers = Number.POSITIVE_INFINITY, later } = options
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let finished = false
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(bytes)
      if (later !== undefined)
        setTimeout(() => {
          if (!finished) socket.write(later.bytes)
        }, later.afterMs)
    })
    const finish = () => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      socket.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      const all = parseAnswers(text)
      resolve({
        interim: all.filter((a) => a.status < 200),
        answers: all.filter((a) => a.status >= 200),
        text,
      })
    }
    const timer = setTimeout(finish, closeAfterMs)
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      const got = parseAnswers(Buffer.concat(chunks).toString('latin1'))
      if (got.filter((a) => a.status >= 200).length >= answers) finish()
    })
    socket.on('error', () => {})
    socket.on('close', finish)
  })
}
