/**
 * Servers an HA test starts (PostgreSQL pairs, Redis primaries, replicas, sentinels, cluster
 * nodes) outlive a test process that dies: pg_ctl daemonizes, and a spawned redis-server keeps
 * running without its parent. A test's teardown stops them; this is for when no teardown runs
 * (tap's timeout, Ctrl-C, a throw at top level): synchronous cleanups run at exit and on SIGTERM or SIGINT.
 */
const cleanups = new Set<() => void>()
let installed = false

function runAll (): void {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup)
    try {
      cleanup()
    } catch {
      // Best effort: the next cleanup still runs.
    }
  }
}

function install (): void {
  if (installed) return
  installed = true
  process.once('exit', runAll)
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      runAll()
      process.exit(signal === 'SIGTERM' ? 143 : 130)
    })
  }
}

/** Registers a synchronous cleanup for an abnormal end; the returned function unregisters it (after a normal stop). */
export function cleanUpAtExit (cleanup: () => void): () => void {
  install()
  cleanups.add(cleanup)
  return () => { cleanups.delete(cleanup) }
}

/** SIGKILLs a child by pid, ignoring one already gone. */
export function killQuietly (pid: number | undefined): void {
  if (pid === undefined) return
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // Already exited.
  }
}
