import { z } from 'zod'
import { RISK_LEVELS } from '../domain/index.js'

/** plan.risk (SPEC §15): the risk policy's verdict, what set it, the waivers and the approval it needs. */
export const planRiskSchema = z.object({
  level: z.enum(RISK_LEVELS),
  reasons: z.array(z.object({
    migration: z.string(),
    rule: z.string().meta({ example: 'drop-column' }),
    risk: z.enum(RISK_LEVELS),
    reason: z.string(),
    matched: z.string().meta({ example: 'DROP COLUMN "User"."email"' }),
    line: z.number().int().nullable(),
    waived_by: z.string().nullable().meta({ description: 'The waiver that lifts this match (it then sets no risk)' })
  })),
  waivers: z.array(z.object({
    migration: z.string(),
    rule: z.string(),
    reason: z.string(),
    line: z.number().int(),
    lifted: z.number().int().meta({ description: 'How many matches it lifted' })
  })),
  approval: z.object({ required_approvals: z.number().int(), roles: z.array(z.string()) }).nullable()
    .meta({ description: 'The approval this risk needs (policy.approvals_by_risk); null when the environment\'s applies' })
}).meta({ id: 'PlanRisk', description: 'How risky the plan is and why, shown to approvers first' })
