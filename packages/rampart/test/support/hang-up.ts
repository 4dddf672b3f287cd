import { connect } from 'node:net'

/**
 * Sends a raw HTTP/1.1 request (its whole body included) and closes the connection without
 * reading the answer as soon as `ready()` says the handler is running: a client that went away.
 * Resolves once the socket is closed.
 */
export function hangUp(port: number, raw: string, ready: () => boolean): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(raw))
    socket.on('error', () => {})
    socket.on('close', () => resolve())
    const wait = setInterval(() => {
      if (ready()) {
        clearInterval(wait)
        socket.destroy()
      }
    }, 5)
  })
}

/**
 * A route handler that holds every request until `release()`: `entered` counts the requests
 * that reached it, so a test can hang up while the handler is running.
 */
export function heldHandler(): {
  handler: () => Promise<{ ok: true }>
  readonly entered: number
  release: () => void
} {
  let release = () => {}
  const held = new Promise<void>((r) => {
    release = r
  })
  const state = {
    entered: 0,
    release: () => release(),
    handler: async () => {
      state.entered++
      await held
      return { ok: true as const }
    },
  }
  return state
}
