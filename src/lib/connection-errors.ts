/** Socket-level error codes that mean "the server is not reachable right now". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN',
  // ControlClient: no listed host gave a session with the DATABASE_URL's target_session_attrs (a failover in progress).
  'ESESSIONREJECTED'])

/**
 * SQLSTATEs of a server that is going away or not accepting connections: class 08 (connection
 * exception), 57P01–57P03 (admin/crash shutdown, cannot connect now), 53300 (too many connections).
 */
function isUnavailableSqlState (code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300'
}

// node-postgres raises these without a code when a connection dies or cannot be made in time.
const PG_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable'
]

/**
 * Whether an error means a database (or Redis) connection is unavailable, rather than a bad
 * query or a bug: such errors are worth retrying once the dependency is back.
 */
export function isConnectionError (error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const { code, message } = current as { code?: unknown, message?: unknown }
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && isUnavailableSqlState(code)))) return true
    if (typeof message === 'string' && PG_MESSAGES.some((text) => message.startsWith(text))) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

/** A short reason for an unavailable dependency, without addresses or credentials. */
export function describeConnectionError (error: unknown): string {
  const { code, message } = error as { code?: unknown, message?: unknown }
  if (code === 'ECONNREFUSED') return 'connection refused'
  if (code === '57P01' || code === '57P02' || code === '57P03') return 'the server is shutting down or starting up'
  if (code === 'ESESSIONREJECTED') return 'no listed server accepts writes yet: a standby is being promoted, or none is'
  if (typeof message === 'string' && message.startsWith('timeout exceeded')) return 'timed out connecting'
  if (typeof message === 'string' && message.startsWith('Connection terminated')) return 'the connection was closed'
  return typeof code === 'string' ? `error ${code}` : 'connection lost'
}
