/** Rejects with "`what`: … did not answer in `ms` ms" when `promise` takes longer. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)
      timer.unref()
    }),
  ]).finally(() => clearTimeout(timer))
}

/** Waits for `work` at most `deadlineMs`; true when it all settled in time. */
export async function drain(work: Promise<unknown>[], deadlineMs: number): Promise<boolean> {
  if (work.length === 0) return true
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), deadlineMs)
    timer.unref()
  })
  const finished = Promise.allSettled(work).then(() => true as const)
  const result = await Promise.race([finished, timedOut])
  clearTimeout(timer)
  return result
}
