import { Redis } from 'ioredis'

/**
 * Watches a Redis server with MONITOR while `work` runs and returns, per client connection,
 * the commands it sent. Commands a Lua script runs inside the server (source `lua`) are not
 * round trips and are left out.
 */
export async function commandsDuring(
  url: string,
  work: () => Promise<void>,
): Promise<Map<string, string[]>> {
  const admin = new Redis(url)
  const monitor = await admin.monitor()
  const bySource = new Map<string, string[]>()
  let live = false
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (String(args[1]) === 'rampart-monitor-live') live = true
    if (!live || source === 'lua') return
    const list = bySource.get(source) ?? []
    list.push(String(args[0]).toLowerCase())
    bySource.set(source, list)
  })
  // MONITOR starts asynchronously; a marker command shows it is live.
  const marker = new Redis(url)
  for (let i = 0; i < 100 && !live; i++) {
    await marker.ping('rampart-monitor-live')
    await new Promise((r) => setTimeout(r, 20))
  }
  bySource.clear()
  await work()
  await new Promise((r) => setTimeout(r, 200))
  monitor.disconnect()
  admin.disconnect()
  marker.disconnect()
  return bySource
}
