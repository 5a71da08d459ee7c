/**
 * The one way a test waits for something: polls `check` every `everyMs` until it returns a value
 * other than undefined, and gives up after `timeoutMs` with an error naming `what` it waited for
 * (like graphile-worker's sleepUntil). A wait that never ends thus fails in seconds with a name,
 * not as tap's timeout minutes later.
 */
export async function until<T> (check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 30_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
