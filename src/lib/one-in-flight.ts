/**
 * Lets a loop hand off a write and go on while it lands, keeping the writes in order with at most
 * one in flight. `push` waits for the previous write (so its failure stops the loop at the next
 * step, as an awaited write would have stopped it one step earlier), then starts this one without
 * waiting for it; `drain` waits for the last.
 */
export class OneInFlight {
  private last: Promise<void> = Promise.resolve()

  async push (write: () => Promise<void>): Promise<void> {
    await this.last
    const started = write()
    // Not unhandled in the meantime: the next push or drain reports it.
    started.catch(() => {})
    this.last = started
  }

  async drain (): Promise<void> {
    await this.last
  }
}
