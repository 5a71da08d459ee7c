import { z } from 'zod'
import { durationMs } from './duration.js'

// The role schema comes in from schema.ts (which owns ROLES): importing it here would make a cycle.
type RoleSchema = z.ZodType<'viewer' | 'deployer' | 'approver' | 'admin'>

const httpsOrLoopbackUrl = z.url({ protocol: /^https?$/, error: 'expected an https URL (http only on loopback, for a local identity provider)' })
  .refine((text) => {
    const url = new URL(text)
    return url.protocol === 'https:' || isLoopbackHost(url.hostname)
  }, 'expected an https URL: http is accepted only for a loopback host (127.0.0.1, localhost, [::1])')

/** A template such as `{repository}@{ref}`: literal text and `{claim}` placeholders. */
const template = z.string().min(1)
  .refine((text) => /^([^{}]|\{[A-Za-z0-9_.:-]+\})+$/.test(text), 'expected literal text and {claim} placeholders, like "{repository}@{ref}"')

/**
 * One rule of an OIDC issuer (SPEC §13). Either a grant (`principal`, `roles`) or a refusal
 * (`deny`, its reason), applied when every claim in `match` matches; the first such rule decides.
 */
function oidcRuleSchema (role: RoleSchema) {
  return z.strictObject({
    /** Claim name → exact value or glob (`*` within a `/`-separated part, `**` across parts, `?` one character). */
    match: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]).transform(String))
      .refine((match) => Object.keys(match).length > 0, 'a rule needs at least one claim to match (like repository_id or project_path)'),
    /** Refuses the token with this reason instead of granting anything (e.g. pull requests). */
    deny: z.string().min(1).optional(),
    /** The principal's name, from the token's claims: `{repository}@{ref}`. */
    principal: template.optional(),
    roles: z.array(role).nonempty().optional(),
    /** The environments the roles apply to (default: all). */
    environments: z.array(z.string().min(1)).nonempty().optional(),
    /** The token's `environment` claim must name the deployment's environment. */
    bind_environment: z.boolean().default(false),
    /** The person behind the token (`{actor}`): self-approval rules compare it with people's SSO names. */
    person: template.optional()
  }).superRefine((rule, ctx) => {
    if (rule.deny !== undefined) {
      for (const key of ['principal', 'roles', 'environments', 'person'] as const) {
        if (rule[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `a deny rule refuses the token: ${key} has no meaning with deny` })
      }
      return
    }
    if (rule.principal === undefined) {
      const message = 'a rule grants a principal: give principal (a template like "{repository}@{ref}") or deny: <reason>'
      ctx.addIssue({ code: 'custom', path: ['principal'], message })
    }
    if (rule.roles === undefined) {
      ctx.addIssue({ code: 'custom', path: ['roles'], message: 'a rule grants roles: give roles (like [deployer]) or deny: <reason>' })
    }
  })
}

/** `auth.oidc[]`: an issuer whose short-lived tokens CI jobs present as bearer tokens. */
function oidcProviderSchema (role: RoleSchema) {
  return z.strictObject({
    name: z.string().min(1),
    /** Compared exactly with the token's `iss`. */
    issuer: httpsOrLoopbackUrl,
    /** Default: the `jwks_uri` of `<issuer>/.well-known/openid-configuration`. */
    jwks_uri: httpsOrLoopbackUrl.optional(),
    /** The token's `aud` must contain it. */
    audience: z.string().min(1),
    /** An unknown `kid` refetches the JWKS at most this often, so a flood of made-up kids cannot hammer the issuer. */
    jwks_refetch_cooldown: durationMs.default(30_000).refine((ms) => ms >= 1000, 'at least 1s'),
    rules: z.array(oidcRuleSchema(role)).nonempty('an issuer needs rules: without one every token would be refused')
  })
}

/** `auth.sso`: people sign in to the review page through the organisation's OpenID provider. */
function ssoSchema (role: RoleSchema) {
  return z.strictObject({
    issuer: httpsOrLoopbackUrl,
    client_id: z.string().min(1),
    /** The NAME of the variable holding the client secret (none for a public client). */
    client_secret_env: z.string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the NAME of an environment variable (like SSO_CLIENT_SECRET), not the secret').optional(),
    /** This service's callback as the provider knows it: `https://deployer.example.com/auth/sso/callback`. */
    redirect_url: httpsOrLoopbackUrl.refine((text) => new URL(text).pathname.endsWith('/auth/sso/callback'), 'the redirect URL ends in /auth/sso/callback'),
    scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']),
    /** The claim naming the person: their principal name, and what self-approval compares. */
    name_claim: z.string().min(1).default('preferred_username'),
    groups_claim: z.string().min(1).default('groups'),
    /** Group → roles, read at each sign-in; a person in no listed group cannot sign in. */
    group_roles: z.record(z.string().min(1), z.array(role).nonempty()).refine((map) => Object.keys(map).length > 0, 'map at least one group to roles'),
    /** A session ends after this long without a request… */
    idle_timeout: durationMs.default(30 * 60_000),
    /** …and after this long in any case (then the person signs in again, and their groups are read again). */
    absolute_timeout: durationMs.default(12 * 3_600_000)
  })
}

/** The schemas of `auth.oidc` and `auth.sso`, built on the config's role schema. */
export function identitySchemas (role: RoleSchema) {
  return { oidc: z.array(oidcProviderSchema(role)).default([]), sso: ssoSchema(role).optional() }
}

/** Cross-references: unique issuer names, and rules naming configured environments only. */
export function checkIdentityReferences (auth: Record<string, unknown>, environments: string[], ctx: z.RefinementCtx): void {
  const providers = Array.isArray(auth.oidc) ? auth.oidc as unknown[] : []
  const names = new Set<string>()
  providers.forEach((provider, index) => {
    if (!isRecord(provider)) return
    if (typeof provider.name === 'string') {
      if (names.has(provider.name)) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'oidc', index, 'name'], message: `duplicate OIDC issuer name "${provider.name}"` })
      }
      names.add(provider.name)
    }
    const rules = Array.isArray(provider.rules) ? provider.rules as unknown[] : []
    rules.forEach((rule, ruleIndex) => {
      const listed = isRecord(rule) && Array.isArray(rule.environments) ? rule.environments as unknown[] : []
      for (const name of listed) {
        if (typeof name === 'string' && !environments.includes(name)) {
          const message = `unknown environment "${name}" (known: ${environments.join(', ')})`
          ctx.addIssue({ code: 'custom', path: ['auth', 'oidc', index, 'rules', ruleIndex, 'environments'], message })
        }
      }
    })
  })
}

/** Whether a host name is this machine (an identity provider run locally may use plain http there). */
export function isLoopbackHost (hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname)
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export type OidcProviderConfig = z.output<ReturnType<typeof oidcProviderSchema>>
export type OidcRuleConfig = z.output<ReturnType<typeof oidcRuleSchema>>
export type SsoConfig = z.output<ReturnType<typeof ssoSchema>>
