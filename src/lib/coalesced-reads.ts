/**
 * Coalesces concurrent reads of the same key without ever answering from the past.
 *
 * A read that arrives while none of its key is running starts one. A read that arrives while
 * one is running does not join it (that read may have started before a write the caller has
 * already seen acknowledged); it waits for the next one, which starts as soon as the running
 * one ends and is shared by everyone who arrived in the meantime. So every caller gets a value
 * read after it called — exactly what it would get alone — while many pollers of one key cost
 * at most one read in flight at a time, plus one queued.
 */
export class CoalescedReads<K, V> {
  private readonly running = new Map<K, Promise<V>>()
  private readonly queued = new Map<K, Promise<V>>()

  constructor (private readonly read: (key: K) => Promise<V>) {}

  get (key: K): Promise<V> {
    const queued = this.queued.get(key)
    if (queued !== undefined) return queued
    const running = this.running.get(key)
    if (running === undefined) return this.start(key)
    const next = running.then(() => undefined, () => undefined).then(() => {
      this.queued.delete(key)
      return this.start(key)
    })
    this.queued.set(key, next)
    return next
  }

  private start (key: K): Promise<V> {
    const read = (async () => await this.read(key))()
    this.running.set(key, read)
    const forget = (): void => { if (this.running.get(key) === read) this.running.delete(key) }
    read.then(forget, forget)
    return read
  }
}
