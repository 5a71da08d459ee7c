/**
 * A process cannot serve what it was started for (its port is taken, say). The CLI prints the
 * message as one line and exits 1 at once; everything the process had opened is closed first.
 */
export class StartupError extends Error {
  readonly code = 'STARTUP_FAILED'

  constructor (message: string) {
    super(message)
    this.name = 'StartupError'
  }
}
