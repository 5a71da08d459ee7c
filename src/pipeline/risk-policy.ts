import { findStatementKinds, readWaivers, squawkHasRule, type WaiverComment } from '../analysis/index.js'
import type { EnvironmentConfig } from '../config/load.js'
import type { RiskRuleConfig } from '../config/policy-schema.js'
import { RISK_LEVELS, STATEMENT_KINDS, statementKindSlug, type Plan, type PlanRisk, type RiskLevel, type RiskReason, type RiskWaiver } from '../domain/index.js'
import type { MigrationFile } from '../handlers/types.js'
import { DeploymentFailure } from './deployment-failure.js'

/** A match and every name a waiver may lift it by: the rule's name, the statement kind's slug, the squawk id. */
interface Candidate { reason: Omit<RiskReason, 'waived_by'>, names: Set<string> }

const STATEMENT_SLUGS = new Set(STATEMENT_KINDS.map(statementKindSlug))
const rank = (level: RiskLevel): number => RISK_LEVELS.indexOf(level)

/**
 * The risk policy (SPEC §15): each policy rule that matches a pending migration, by the kinds of
 * statement in its parse tree or by squawk's findings, sets the plan's risk with its reason; an
 * in-file waiver (`-- migration-deployer: allow <rule> because <reason>`) lifts that rule's
 * matches in its own file. The plan's risk is the highest unwaived one, and `approvals_by_risk`
 * says which approval it then needs. A waiver naming a rule that does not exist, or one without a
 * reason, fails the plan: a typo must not pass for a waiver, nor a waiver for nothing.
 */
export async function assessRisk (plan: Plan, pending: MigrationFile[], environment: EnvironmentConfig): Promise<Plan> {
  const policy = environment.policy
  if (policy.rules.length === 0) return plan
  const candidates: Candidate[] = []
  const waivers: RiskWaiver[] = []
  const problems: string[] = []
  for (const [index, migration] of pending.entries()) {
    if (migration.appliedBy !== undefined) continue
    const warnings = plan.migrations[index]?.warnings ?? []
    candidates.push(...await matchesOf(migration, warnings, policy.rules))
    const found = await readWaivers(migration.sql)
    for (const bad of found.malformed) problems.push(`${migration.name} line ${bad.line}: "${bad.text}" is not a waiver; write -- migration-deployer: allow <rule> because <reason>`)
    for (const waiver of found.waivers) {
      const known = await isKnownRule(waiver, policy.rules)
      if (known) waivers.push({ migration: migration.name, rule: waiver.rule, reason: waiver.reason, line: waiver.line, lifted: 0 })
      else problems.push(`${migration.name} line ${waiver.line}: waiver names an unknown rule "${waiver.rule}"`)
    }
  }
  if (problems.length > 0) {
    throw new DeploymentFailure({
      error: `Invalid risk waiver: ${problems.join('; ')}`,
      suggestions: [
        'A waiver names a policy rule (its name), a statement kind (drop-table, drop-column, truncate, …) or a squawk rule id (ban-drop-column, …), ' +
        'and says why: -- migration-deployer: allow drop-column because the app stopped reading it in v42',
        'Fix the comment in the migration file and deploy again; nothing was applied'
      ],
      extraResult: { waiver_errors: problems }
    })
  }
  const reasons: RiskReason[] = candidates.map(({ reason, names }) => {
    const waiver = waivers.find((w) => w.migration === reason.migration && names.has(w.rule))
    if (waiver !== undefined) waiver.lifted++
    return { ...reason, waived_by: waiver === undefined ? null : `${waiver.rule} because ${waiver.reason}` }
  })
  const level = reasons.filter((r) => r.waived_by === null).reduce<RiskLevel>((max, r) => rank(r.risk) > rank(max) ? r.risk : max, 'low')
  const raise = policy.approvals_by_risk[level]
  const approval = raise === undefined
    ? null
    : {
        required_approvals: Math.max(environment.approval.required_approvals, raise.required_approvals ?? 0),
        roles: raise.roles ?? environment.approval.roles
      }
  const risk: PlanRisk = { level, reasons, waivers, approval }
  return { ...plan, risk }
}

async function matchesOf (migration: MigrationFile, warnings: Array<{ rule: string, message: string }>, rules: RiskRuleConfig[]): Promise<Candidate[]> {
  const statements = await findStatementKinds(migration.sql)
  return rules.flatMap((rule) => {
    const base = { migration: migration.name, risk: rule.risk, reason: rule.reason }
    if ('statements' in rule.when) {
      const kinds: readonly string[] = rule.when.statements
      return statements.filter((s) => kinds.includes(s.kind)).map((s) => ({
        reason: { ...base, rule: rule.name ?? statementKindSlug(s.kind), matched: `${s.kind} ${s.target}`, line: s.line },
        names: new Set([statementKindSlug(s.kind), ...(rule.name === undefined ? [] : [rule.name])])
      }))
    }
    const ids: readonly string[] = rule.when.lint
    return warnings.filter((w) => ids.includes(w.rule)).map((w) => ({
      reason: { ...base, rule: rule.name ?? w.rule, matched: `squawk ${w.rule}`, line: lineOf(w.message) },
      names: new Set([w.rule, ...(rule.name === undefined ? [] : [rule.name])])
    }))
  })
}

/** The plan's warnings carry squawk's line as `line 3: …`. */
function lineOf (message: string): number | null {
  const match = /^line (\d+):/.exec(message)
  return match === null ? null : Number(match[1])
}

async function isKnownRule (waiver: WaiverComment, rules: RiskRuleConfig[]): Promise<boolean> {
  if (STATEMENT_SLUGS.has(waiver.rule)) return true
  if (rules.some((rule) => rule.name === waiver.rule || ('lint' in rule.when && rule.when.lint.includes(waiver.rule)))) return true
  return await squawkHasRule(waiver.rule) === true
}

/** One line for the human log: the risk and why, the waivers and theirs. */
export function describeRisk (risk: PlanRisk): string[] {
  const active = risk.reasons.filter((r) => r.waived_by === null)
  const lines = [`${risk.level === 'low' ? '✓' : '⚠'} Risk: ${risk.level}${active.length === 0 ? '' : ` (${active.map((r) => `${r.matched}: ${r.reason}`).join('; ')})`}`]
  for (const waiver of risk.waivers) lines.push(`  waiver in ${waiver.migration} line ${waiver.line}: allow ${waiver.rule} because ${waiver.reason}`)
  if (risk.approval !== null) lines.push(`  needs ${risk.approval.required_approvals} approval(s) from ${risk.approval.roles.join(' or ')} (policy.approvals_by_risk.${risk.level})`)
  return lines
}

/** The approval a plan needs: the environment's, or the stricter one its risk calls for. */
export function approvalNeeded (environment: Pick<EnvironmentConfig, 'approval'>, plan: Pick<Plan, 'risk'> | null): { required_approvals: number, roles: readonly string[] } {
  return plan?.risk?.approval ?? environment.approval
}
