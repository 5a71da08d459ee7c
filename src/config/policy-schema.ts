import { z } from 'zod'
import { RISK_LEVELS, STATEMENT_KINDS } from '../domain/index.js'
import { roleName } from './role-name.js'

const positiveInt = z.number({ error: 'expected a positive integer' }).int('expected a positive integer').positive('expected a positive integer')
const RULE_NAME = /^[a-z][a-z0-9-]*$/

const riskRuleSchema = z.strictObject({
  /** What a waiver may call this rule (besides the statement kinds' slugs and squawk ids it matches). */
  name: z.string().regex(RULE_NAME, 'expected a rule name like "destructive-change" (lowercase letters, digits and -)').optional(),
  when: z.union([
    z.strictObject({ statements: z.array(z.enum(STATEMENT_KINDS, { error: `expected one of ${STATEMENT_KINDS.join(', ')}` })).nonempty() }),
    z.strictObject({ lint: z.array(z.string().regex(RULE_NAME, 'expected a squawk rule id like "ban-drop-column"')).nonempty() })
  ], { error: 'expected { statements: [<statement kind>…] } or { lint: [<squawk rule>…] }' }),
  risk: z.enum(RISK_LEVELS, { error: 'expected low, medium or high' }),
  reason: z.string().min(1, 'say why this is risky: the approver reads it')
})

/**
 * The risk part of an environment's `policy:` (SPEC §15): rules over the parsed statements and
 * squawk's findings set the plan's risk; `approvals_by_risk` makes riskier plans need more (or
 * other) approvers. Spread into the policy schema beside `allow_statements`.
 */
export const riskPolicyFields = {
  rules: z.array(riskRuleSchema).default([]),
  approvals_by_risk: z.partialRecord(z.enum(RISK_LEVELS), z.strictObject({
    required_approvals: positiveInt.optional(),
    roles: z.array(roleName).nonempty().optional()
  })).default({})
}

export type RiskRuleConfig = z.output<typeof riskRuleSchema>
