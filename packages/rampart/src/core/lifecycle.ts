/** Ordered shutdown steps: registered first, closed last (like a stack of resources). */
export class Lifecycle {
  readonly #steps: Array<{ name: string; close: () => Promise<void> | void }> = []
  #closing: Promise<void> | undefined

  /** Registers a resource to close on shutdown. */
  onClose(name: string, close: () => Promise<void> | void): void {
    this.#steps.push({ name, close })
  }

  /** Closes every resource once, newest first; a failing step is reported and the rest still run. */
  close(report: (name: string, err: unknown) => void): Promise<void> {
    this.#closing ??= (async () => {
      for (const step of [...this.#steps].reverse()) {
        try {
          await step.close()
        } catch (err) {
          report(step.name, err)
        }
      }
    })()
    return this.#closing
  }
}
