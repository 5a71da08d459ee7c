import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import type { OidcProviderConfig } from '../config/identity-schema.js'
import { isLoopbackHost } from '../config/identity-schema.js'
import { TokenRefusedError, UnavailableError } from '../errors/index.js'

/** Only signatures made with a private key: never `none`, never an HMAC (whose "secret" could be the public key). */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519']

/** Clocks of CI runners and of this service may differ this much (`exp`, `nbf`, `iat`). */
export const CLOCK_SKEW_SECONDS = 60

const FETCH_TIMEOUT_MS = 5000

/**
 * Verifies the tokens of one configured issuer with jose: the signature against the issuer's JWKS
 * (found by discovery unless `jwks_uri` is set; cached; refetched for an unknown `kid` at most
 * once per `jwks_refetch_cooldown`), an asymmetric algorithm, `iss` exactly, `aud` containing the
 * audience, `exp`/`nbf` with 60 s of skew. A token that fails is a TokenRefusedError (401) saying
 * why; an issuer that cannot be reached is a 503, and is not asked again before the cooldown ends
 * (a flood of tokens cannot turn into a flood of fetches, even while the issuer is down).
 */
export class OidcIssuerVerifier {
  private jwks: Promise<JWTVerifyGetKey> | undefined
  private lastFailure: { at: number, message: string } | undefined

  constructor (readonly provider: OidcProviderConfig) {}

  async verify (token: string): Promise<JWTPayload> {
    const jwks = await this.keySet()
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: this.provider.issuer,
        audience: this.provider.audience,
        algorithms: ASYMMETRIC_ALGORITHMS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp', 'sub']
      })
      return payload
    } catch (error) {
      throw this.describe(error)
    }
  }

  /**
   * The issuer's key set, found by discovery the first time when no `jwks_uri` is configured.
   * Concurrent first tokens share one discovery; a failed one is retried after the cooldown.
   */
  private async keySet (): Promise<JWTVerifyGetKey> {
    if (this.jwks === undefined) {
      this.throwIfCoolingDown()
      this.jwks = (async () => {
        const uri = this.provider.jwks_uri ?? await this.discoverJwksUri()
        return createRemoteJWKSet(new URL(uri), { cooldownDuration: this.provider.jwks_refetch_cooldown, timeoutDuration: FETCH_TIMEOUT_MS })
      })()
      this.jwks.catch(() => { this.jwks = undefined })
    }
    return await this.jwks
  }

  private async discoverJwksUri (): Promise<string> {
    const where = `${this.provider.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
    try {
      const response = await fetch(where, { headers: { accept: 'application/json' }, redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`)
      const document = await response.json() as { issuer?: unknown, jwks_uri?: unknown }
      if (document.issuer !== this.provider.issuer) throw new Error(`its issuer is ${JSON.stringify(document.issuer)}, not ${this.provider.issuer}`)
      if (typeof document.jwks_uri !== 'string') throw new Error('it names no jwks_uri')
      const uri = new URL(document.jwks_uri)
      if (uri.protocol !== 'https:' && !(uri.protocol === 'http:' && isLoopbackHost(uri.hostname))) throw new Error(`its jwks_uri ${uri.href} is not https`)
      return uri.href
    } catch (error) {
      throw this.unavailable(`discovery at ${where} failed: ${(error as Error).message}`)
    }
  }

  private throwIfCoolingDown (): void {
    const failure = this.lastFailure
    if (failure === undefined) return
    const waitMs = failure.at + this.provider.jwks_refetch_cooldown - Date.now()
    if (waitMs > 0) {
      throw new UnavailableError(`cannot verify tokens of OIDC issuer ${this.provider.name} now: ${failure.message}; ` +
        `the next attempt is in ${Math.ceil(waitMs / 1000)}s`)
    }
  }

  private unavailable (message: string): UnavailableError {
    this.lastFailure = { at: Date.now(), message }
    const next = Math.ceil(this.provider.jwks_refetch_cooldown / 1000)
    return new UnavailableError(`cannot verify tokens of OIDC issuer ${this.provider.name} now: ${message}; the next attempt is in ${next}s`)
  }

  /** jose's error as a refusal in words, or the issuer's key set as unavailable. */
  private describe (error: unknown): Error {
    const code = (error as { code?: string }).code
    const message = (error as Error).message
    const name = this.provider.name
    switch (code) {
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
        return new TokenRefusedError('algorithm',
          `the token's signature algorithm is not accepted: only asymmetric algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')}) are, never "none" or HS*`)
      case 'ERR_JWT_EXPIRED':
        return new TokenRefusedError('expired',
          `the OIDC token expired (exp ${timeOf((error as { payload?: JWTPayload }).payload?.exp)}, ${CLOCK_SKEW_SECONDS}s of clock skew allowed): ` +
          'request a fresh token for each job')
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
        return this.describeClaim(error as { claim?: string, payload?: JWTPayload })
      case 'ERR_JWKS_NO_MATCHING_KEY':
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        return new TokenRefusedError('unknown_key', `no key of OIDC issuer ${name} matches the token's kid ` +
          `(the issuer's key set is refetched for an unknown kid at most every ${this.provider.jwks_refetch_cooldown / 1000}s)`)
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return new TokenRefusedError('signature', `the token's signature does not verify with the keys of OIDC issuer ${name}`)
      case 'ERR_JWS_INVALID':
      case 'ERR_JWT_INVALID':
      case 'ERR_JWK_INVALID':
        return new TokenRefusedError('malformed', `the OIDC token is malformed: ${message}`)
      case 'ERR_JOSE_NOT_SUPPORTED':
        return new TokenRefusedError('unsupported', `the OIDC token uses something not supported: ${message}`)
      default:
        // Fetching the key set failed (timeout, not 200, not a key set, network): the issuer's side.
        return this.unavailable(`its key set could not be fetched: ${message}`)
    }
  }

  private describeClaim (error: { claim?: string, payload?: JWTPayload }): TokenRefusedError {
    const payload = error.payload ?? {}
    switch (error.claim) {
      case 'aud':
        return new TokenRefusedError('audience', `the token's audience (aud) is ${JSON.stringify(payload.aud)}, not "${this.provider.audience}": ` +
          `request the token for audience "${this.provider.audience}" (--oidc-audience)`)
      case 'iss':
        return new TokenRefusedError('issuer', `the token's issuer (iss) is ${JSON.stringify(payload.iss)}, not ${this.provider.issuer}`)
      case 'nbf':
        return new TokenRefusedError('not_yet_valid',
          `the OIDC token is not valid before ${timeOf(payload.nbf)} (${CLOCK_SKEW_SECONDS}s of clock skew allowed): check the clocks`)
      case 'iat':
        return new TokenRefusedError('not_yet_valid', `the OIDC token claims to be issued in the future (iat ${timeOf(payload.iat)}): check the clocks`)
      default:
        return new TokenRefusedError('claims', `the OIDC token's "${error.claim ?? '?'}" claim is missing or invalid: OIDC tokens carry sub and exp`)
    }
  }
}

function timeOf (seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : String(seconds)
}
