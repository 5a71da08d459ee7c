/**
 * Which file of a parse task its thread is on, and since when, in memory both sides share: the
 * thread marks each file as it begins it, and the pool's timeout timer reads the mark when it
 * fires. A message per file did the same, but cost the thread about 0.25 ms each and woke the
 * event loop each time (documenso's 163 files: about 40 ms of a plan).
 */
export interface TaskProgress {
  /** [0]: the index of the file begun last, -1 before the first; [1]: when, in ms after `base`. */
  shared: Int32Array
  base: number
}

/** Milliseconds on a clock both threads read alike (the time origin differs per thread, the sum does not). */
export function now (): number {
  return performance.timeOrigin + performance.now()
}

export function newTaskProgress (): TaskProgress {
  const shared = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT))
  shared[0] = -1
  return { shared, base: now() }
}

/** In the thread: file `index` begins now. The time is stored first, so a reader never pairs a newer index with an older time. */
export function markBegun (progress: TaskProgress, index: number): void {
  Atomics.store(progress.shared, 1, Math.round(now() - progress.base))
  Atomics.store(progress.shared, 0, index)
}

/** In the pool: the file begun last and when (on `now()`'s clock), or undefined while the task waits for a thread. */
export function beganAt (progress: TaskProgress): { index: number, at: number } | undefined {
  const index = Atomics.load(progress.shared, 0)
  if (index < 0) return undefined
  return { index, at: progress.base + Atomics.load(progress.shared, 1) }
}
