import { AppError } from './app-error.js'

/** Why a bearer token or a session was refused: a stable word clients and tests can rely on. */
export type TokenRefusal = 'malformed' | 'algorithm' | 'unknown_issuer' | 'issuer' | 'audience' | 'expired' | 'not_yet_valid' |
  'unknown_key' | 'signature' | 'claims' | 'unsupported' | 'session_expired'

/**
 * A bearer token (an OIDC token, a static token) or a session cookie that proves nothing: 401 with
 * what is wrong in words, and `details.reason`. The code stays UNAUTHORIZED, as for any 401.
 */
export class TokenRefusedError extends AppError {
  constructor (reason: TokenRefusal, message: string) { super('UNAUTHORIZED', 401, message, { details: { reason } }) }
}

/** A state-changing request from a browser session without the session's CSRF token (403). */
export class CsrfError extends AppError {
  constructor () {
    super('CSRF_TOKEN_INVALID', 403,
      'this request comes from a signed-in session and needs its CSRF token: send the X-CSRF-Token header with the csrf_token of GET /auth/session')
  }
}
