import { decodeJwt, type JWTPayload } from 'jose'
import type { OidcProviderConfig } from '../config/identity-schema.js'
import { ForbiddenError, TokenRefusedError } from '../errors/index.js'
import { compileOidcRules, type RuleDecision } from './oidc-rules.js'
import { CLOCK_SKEW_SECONDS, OidcIssuerVerifier } from './oidc-verifier.js'
import type { Principal } from './principal.js'

/** A compact JWS: three base64url parts, the first a JSON header (`{"` is `eyJ`). */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/

interface Issuer { verifier: OidcIssuerVerifier, decide: (claims: JWTPayload) => RuleDecision }

/** A principal proved by an OIDC token, valid until `expiresAt` (ms). */
export interface OidcPrincipal { principal: Principal, expiresAt: number }

/**
 * CI's OIDC tokens (SPEC §13): picks the configured issuer by the token's `iss`, verifies the token
 * with it, and applies its rules. Refusals: 401 for a token that proves nothing (with the reason),
 * 403 for a valid token no rule grants anything (or a deny rule refuses).
 */
export class OidcAuthenticator {
  private readonly issuers: Issuer[]

  constructor (providers: readonly OidcProviderConfig[]) {
    this.issuers = providers.map((provider) => ({ verifier: new OidcIssuerVerifier(provider), decide: compileOidcRules(provider) }))
  }

  /** Whether any issuer is configured (else a JWT is just an unknown static token). */
  get enabled (): boolean {
    return this.issuers.length > 0
  }

  /** Whether a bearer token has the shape of a JWT (static tokens do not, unless made to). */
  static looksLikeJwt (token: string): boolean {
    return JWT_SHAPE.test(token)
  }

  async authenticate (token: string): Promise<OidcPrincipal> {
    let unverified: JWTPayload
    try {
      unverified = decodeJwt(token)
    } catch (error) {
      throw new TokenRefusedError('malformed', `the bearer token looks like a JWT but is not one: ${(error as Error).message}`)
    }
    const issuer = this.issuerFor(unverified)
    const claims = await issuer.verifier.verify(token)
    const decision = issuer.decide(claims)
    if ('refused' in decision) throw new ForbiddenError(decision.refused)
    return { principal: decision.principal, expiresAt: ((claims.exp as number) + CLOCK_SKEW_SECONDS) * 1000 }
  }

  /** The issuer named by `iss`; of several entries for one issuer, the one whose audience the token carries. */
  private issuerFor (claims: JWTPayload): Issuer {
    const candidates = this.issuers.filter(({ verifier }) => verifier.provider.issuer === claims.iss)
    if (candidates.length === 0) {
      const known = this.issuers.map(({ verifier }) => verifier.provider.issuer).filter((issuer, i, all) => all.indexOf(issuer) === i)
      const message = `the token's issuer (iss) ${JSON.stringify(claims.iss ?? null)} is not a configured OIDC issuer (configured: ${known.join(', ')})`
      throw new TokenRefusedError('unknown_issuer', message)
    }
    const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : []
    return candidates.find(({ verifier }) => audiences.includes(verifier.provider.audience)) ?? candidates[0] as Issuer
  }
}
