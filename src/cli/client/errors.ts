import { EXIT } from './exit-codes.js'

/** Something the CLI ends on with a message and an exit code (never a stack trace). */
export class CliError extends Error {
  constructor (message: string, readonly exitCode: number) {
    super(message)
    this.name = 'CliError'
  }
}

/** Bad usage: exit 2, with the command's usage printed after the message. */
export class UsageError extends CliError {
  constructor (message: string) {
    super(message, EXIT.usage)
    this.name = 'UsageError'
  }
}

/** The server answered 4xx: exit 2 with its error code and message. */
export class RequestRefusedError extends CliError {
  constructor (readonly status: number, readonly code: string, message: string) {
    super(`${status} ${code}: ${message}`, EXIT.usage)
    this.name = 'RequestRefusedError'
  }
}

/** The server could not be reached or failed (5xx): exit 1. */
export class ServerUnavailableError extends CliError {
  constructor (message: string) {
    super(message, EXIT.failed)
    this.name = 'ServerUnavailableError'
  }
}
