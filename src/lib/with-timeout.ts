/** The error of a dependency that did not answer in time (Redis while it reconnects, mostly). */
export class DependencyTimeoutError extends Error {
  readonly code = 'ETIMEDOUT'
  constructor (what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`)
    this.name = 'DependencyTimeoutError'
  }
}

/**
 * Settles with `promise`, or rejects after `ms`. ioredis queues commands while it reconnects
 * (BullMQ needs that), so a call to a Redis that is down would otherwise wait until it is back.
 */
export async function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(new DependencyTimeoutError(what, ms))
        }, ms)
      })
    ])
  } finally {
    clearTimeout(timer)
  }
}
