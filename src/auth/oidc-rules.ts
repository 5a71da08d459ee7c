import type { JWTPayload } from 'jose'
import type { OidcProviderConfig, OidcRuleConfig } from '../config/identity-schema.js'
import { claimValues, compileClaimPattern } from './claim-glob.js'
import { SYSTEM_ACTOR } from '../domain/index.js'
import type { Principal } from './principal.js'

/** What the rules decided for a verified token: a principal, or a refusal (403) saying why. */
export type RuleDecision = { principal: Principal } | { refused: string }

interface CompiledRule {
  index: number
  rule: OidcRuleConfig
  matchers: Array<{ claim: string, matches: (value: string) => boolean }>
}

/**
 * The rules of one issuer, compiled once. `decide` applies the first rule whose every `match`
 * claim matches (SPEC §13): a deny rule refuses, a grant makes the principal; no rule: refused.
 */
export function compileOidcRules (provider: OidcProviderConfig): (claims: JWTPayload) => RuleDecision {
  const rules: CompiledRule[] = provider.rules.map((rule, index) => ({
    index,
    rule,
    matchers: Object.entries(rule.match).map(([claim, pattern]) => ({ claim, matches: compileClaimPattern(pattern) }))
  }))
  return (claims) => {
    const chosen = rules.find(({ matchers }) => matchers.every(({ claim, matches }) => claimValues(claims[claim]).some(matches)))
    const subject = claims.sub ?? '(no sub)'
    if (chosen === undefined) {
      return { refused: `the token of ${subject} matches no rule of OIDC issuer ${provider.name}: ask an operator to add a rule for it (auth.oidc rules)` }
    }
    return grant(provider, chosen, claims, subject)
  }
}

function grant (provider: OidcProviderConfig, { index, rule }: CompiledRule, claims: JWTPayload, subject: string): RuleDecision {
  const where = `rule ${index + 1} of OIDC issuer ${provider.name}`
  if (rule.deny !== undefined) return { refused: `${where} refuses the token of ${subject}: ${rule.deny}` }
  const name = renderTemplate(rule.principal as string, claims)
  const lacks = (what: string, claim: string): RuleDecision =>
    ({ refused: `${where} names the ${what} from the claim "${claim}", which the token of ${subject} does not carry` })
  if (typeof name !== 'string') return lacks('principal', name.missing)
  if (name === SYSTEM_ACTOR) return { refused: `${where} makes the principal "${SYSTEM_ACTOR}", a name reserved for the service's own audit events` }
  let person: string | undefined
  if (rule.person !== undefined) {
    const rendered = renderTemplate(rule.person, claims)
    if (typeof rendered !== 'string') return lacks('person', rendered.missing)
    person = rendered
  }
  let boundEnvironment: string | undefined
  if (rule.bind_environment) {
    const [environment] = claimValues(claims.environment)
    if (environment === undefined || environment === '') {
      return {
        refused: `${where} binds tokens to their environment, but the token of ${subject} has no "environment" claim: ` +
          'run the job in a CI environment (GitHub: jobs.<job>.environment)'
      }
    }
    boundEnvironment = environment
  }
  return {
    principal: {
      name,
      roles: rule.roles ?? [],
      environments: rule.environments,
      boundEnvironment,
      identity: { method: 'oidc', issuer: provider.issuer, subject: String(subject), provider: provider.name, ...(person === undefined ? {} : { person }) }
    }
  }
}

/** `{repository}@{ref}` with the token's claims; a placeholder naming an absent claim is reported. */
export function renderTemplate (template: string, claims: JWTPayload): string | { missing: string } {
  let missing: string | undefined
  const text = template.replace(/\{([^{}]+)\}/g, (_whole, claim: string) => {
    const [value] = claimValues(claims[claim])
    if (value === undefined) missing ??= claim
    return value ?? ''
  })
  return missing === undefined ? text : { missing }
}
