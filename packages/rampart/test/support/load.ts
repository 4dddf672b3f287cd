/** Sends `total` GET requests to `url` with `concurrency` in flight; returns the count per status. */
export async function hammer(
  url: string,
  total: number,
  concurrency: number,
): Promise<Map<number, number>> {
  const statuses = new Map<number, number>()
  let next = 0
  const worker = async () => {
    while (next < total) {
      next++
      const res = await fetch(url)
      await res.arrayBuffer()
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return statuses
}

/** A metric sample's value from Prometheus text, or undefined when absent. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return undefined
}
