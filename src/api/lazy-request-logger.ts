import type { FastifyBaseLogger } from 'fastify'
import type { Bindings, ChildLoggerOptions, LevelWithSilent } from 'pino'

type Level = Exclude<LevelWithSilent, 'silent'>

/**
 * A request's logger (`request.log`) that becomes a real child logger only when the request logs
 * a line of an enabled level.
 *
 * Fastify gives every request a child logger bound to its request id, and making one is among
 * the costliest things done for a request (pino copies its level methods and serializes the
 * bindings), yet this API logs through it only when something goes wrong: the access line has a
 * logger of its own (see OneLineRequestLog). Lines are the same as the child's would be.
 */
class LazyRequestLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined

  constructor (private readonly parent: FastifyBaseLogger, private readonly bindings: Bindings, private readonly options: ChildLoggerOptions) {}

  private real (): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options)
    return this.made
  }

  private write (level: Level, args: unknown[]): void {
    const logger = this.made ?? (isEnabled(this.parent, level, this.options) ? this.real() : undefined)
    if (logger !== undefined) (logger[level] as (...args: unknown[]) => void)(...args)
  }

  get level (): string { return this.made?.level ?? this.options.level ?? this.parent.level }
  set level (level: string) { this.real().level = level }

  // Methods on the prototype: a request allocates one small object, not a closure per level.
  fatal (...args: unknown[]): void { this.write('fatal', args) }
  error (...args: unknown[]): void { this.write('error', args) }
  warn (...args: unknown[]): void { this.write('warn', args) }
  info (...args: unknown[]): void { this.write('info', args) }
  debug (...args: unknown[]): void { this.write('debug', args) }
  trace (...args: unknown[]): void { this.write('trace', args) }
  silent (): void {}

  child (bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.real().child(bindings, options)
  }
}

/** Whether a line of `level` would be written by a child with `options` (a route may set its own level). */
function isEnabled (parent: FastifyBaseLogger, level: Level, options: ChildLoggerOptions): boolean {
  if (options.level === undefined) return (parent as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.(level) ?? true
  const values = (parent as { levels?: { values: Record<string, number> } }).levels?.values
  if (values === undefined) return true
  return (values[level] ?? 0) >= (values[options.level] ?? 0)
}

/** Fastify's `childLoggerFactory`: every request gets a LazyRequestLogger. */
export function lazyRequestLoggers (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options)
}
