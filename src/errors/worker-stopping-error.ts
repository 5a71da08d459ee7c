/**
 * The worker is shutting down (SIGTERM) and stops before the next migration: the one in flight
 * has finished and been recorded. Not a failure of the deployment: its job is handed back to
 * the queue for another worker, which resumes from the target's history.
 */
export class WorkerStoppingError extends Error {
  readonly code = 'WORKER_STOPPING'
  constructor (message = 'the worker is shutting down; another worker continues this deployment') {
    super(message)
    this.name = 'WorkerStoppingError'
  }
}

/** Throws `WorkerStoppingError` once `signal` has fired: called between migrations. */
export function throwIfStopping (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new WorkerStoppingError()
}
