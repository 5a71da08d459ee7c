import * as oidc from 'openid-client'
import type { Role } from '../domain/index.js'
import type { SsoConfig } from '../config/identity-schema.js'
import { ForbiddenError, UnavailableError } from '../errors/index.js'
import type { Principal } from './principal.js'
import type { PendingLogin } from './session-store.js'

/**
 * The review page's sign-in through the organisation's OpenID provider (SPEC §13), with
 * openid-client (a certified relying party): discovery, the authorization-code flow with PKCE
 * (S256), state and nonce, the ID token's checks, then the userinfo claims. Roles come from the
 * groups claim at each sign-in through `group_roles`; nobody is listed by hand.
 */
export class SsoClient {
  private configuration: Promise<oidc.Configuration> | undefined

  constructor (private readonly config: SsoConfig, private readonly env: NodeJS.ProcessEnv) {}

  /** Where to send the browser, and what to keep until it comes back. */
  async startLogin (returnTo: string): Promise<{ url: URL, pending: PendingLogin }> {
    const configuration = await this.discover()
    const pending: PendingLogin = { state: oidc.randomState(), nonce: oidc.randomNonce(), code_verifier: oidc.randomPKCECodeVerifier(), return_to: returnTo }
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.config.redirect_url,
      scope: this.config.scopes.join(' '),
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.code_verifier),
      code_challenge_method: 'S256'
    })
    return { url, pending }
  }

  /** Redeems the code the provider sent back, and makes the person's principal from their claims. */
  async finishLogin (callbackUrl: URL, pending: PendingLogin): Promise<Principal> {
    const configuration = await this.discover()
    const tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: pending.code_verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true
    })
    const idClaims = tokens.claims() as oidc.IDToken
    // Providers put groups in the ID token or only in userinfo: read both (userinfo's subject is checked).
    const userinfo = await oidc.fetchUserInfo(configuration, tokens.access_token, idClaims.sub)
    return this.principalOf({ ...idClaims, ...userinfo })
  }

  /** The person's name, roles (from their groups) and identity; no role at all refuses the sign-in. */
  principalOf (claims: Record<string, unknown>): Principal {
    const named = [claims[this.config.name_claim], claims.email, claims.sub].find((value) => typeof value === 'string' && value !== '') as string
    const groupsClaim = claims[this.config.groups_claim]
    const groups = Array.isArray(groupsClaim)
      ? groupsClaim.filter((g): g is string => typeof g === 'string')
      : typeof groupsClaim === 'string' ? [groupsClaim] : []
    const roles = new Set<Role>()
    for (const group of groups) for (const role of this.config.group_roles[group] ?? []) roles.add(role)
    if (roles.size === 0) {
      const listed = groups.length === 0 ? `no "${this.config.groups_claim}" claim` : groups.join(', ')
      throw new ForbiddenError(`${named} signed in, but none of their groups (${listed}) has a role here: ` +
        'ask an operator to map a group in auth.sso.group_roles')
    }
    return { name: named, roles: [...roles], identity: { method: 'sso', issuer: this.config.issuer, subject: String(claims.sub), person: named } }
  }

  /** The provider's metadata, fetched once (again after a failure). */
  private async discover (): Promise<oidc.Configuration> {
    this.configuration ??= this.fetchConfiguration()
    try {
      return await this.configuration
    } catch (error) {
      this.configuration = undefined
      throw new UnavailableError(`cannot reach the SSO provider ${this.config.issuer}: ${(error as Error).message}`, error)
    }
  }

  private async fetchConfiguration (): Promise<oidc.Configuration> {
    const secretName = this.config.client_secret_env
    const secret = secretName === undefined ? undefined : this.env[secretName]
    if (secretName !== undefined && (secret === undefined || secret === '')) throw new Error(`${secretName} (auth.sso.client_secret_env) is not set`)
    const issuer = new URL(this.config.issuer)
    // Plain http is allowed by the config for a provider on loopback only (a local or test provider).
    const options = issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : undefined
    return await oidc.discovery(issuer, this.config.client_id, undefined, secret === undefined ? oidc.None() : oidc.ClientSecretPost(secret), options)
  }
}
