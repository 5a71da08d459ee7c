import { destination as pinoDestination, pino, type DestinationStream, type Logger } from 'pino'
import { maskSecrets } from './lib/mask-secrets.js'

/** Paths pino removes from every log line, wherever a credential could sit. */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization',
  '*.password', '*.connectionString', '*.databaseUrl', '*.database_url',
  'password', 'connectionString', 'databaseUrl'
]

/**
 * The process logger: pino JSON, one line per event, credentials redacted by path and every
 * message and error text passed through the URL/secret mask.
 *
 * By default it writes to stdout asynchronously: a line is written at once when no write is in
 * progress, and lines logged meanwhile go together in the next write, so a busy API (an access
 * line per request) makes one write per burst instead of one per line. pino flushes what is
 * left when the process exits, however it exits short of SIGKILL.
 */
export function createLogger (level: string, destination?: DestinationStream): Logger {
  return pino({
    level,
    redact: { paths: REDACT_PATHS, censor: '***' },
    hooks: {
      logMethod (args, method) {
        method.apply(this, args.map((arg) => typeof arg === 'string' ? maskSecrets(arg) : arg) as Parameters<typeof method>)
      }
    },
    serializers: {
      err: (error: { message?: string, code?: string, type?: string }) => ({ type: error.type, code: error.code, message: maskSecrets(String(error.message ?? '')) })
    }
  }, destination ?? pinoDestination({ dest: 1, sync: false }))
}
