/**
 * The environment's deployment window closed while a deployment applied, and the environment
 * says `windows.on_close: hold`: the migration in flight finished and was recorded; the rest waits
 * for the next window. Not a failure of the deployment.
 */
export class WindowClosedError extends Error {
  readonly code = 'WINDOW_CLOSED'
  constructor (readonly nextOpenAt: Date | null, readonly reason: string) {
    super(`the deployment window closed (${reason}); the remaining migrations wait for the next window`)
    this.name = 'WindowClosedError'
  }
}
