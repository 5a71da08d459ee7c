import { z } from 'zod'
import { fleetSummarySchema } from './deployment.js'

export const FLEET_TARGET_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'skipped'] as const

/** One target of a fleet deployment (SPEC §14): never its URL. */
export const fleetTargetSchema = z.object({
  name: z.string().meta({ example: 'tenant_acme' }),
  group: z.number().int().nullable().meta({ description: 'Its history-state group in plan.groups; null when it could not be planned' }),
  status: z.enum(FLEET_TARGET_STATUSES),
  migrations_applied: z.number().int(),
  error: z.string().nullable(),
  report: z.record(z.string(), z.unknown()).nullable().meta({ description: 'The target\'s own report, in the skill\'s shapes (SPEC §6), with its steps and log' })
}).meta({ id: 'FleetTarget' })

export const fleetTargetListSchema = z.object({
  targets: z.array(fleetTargetSchema),
  summary: fleetSummarySchema,
  next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last' })
}).meta({ id: 'FleetTargetList' })

export const listFleetTargetsQuery = z.strictObject({
  status: z.enum(FLEET_TARGET_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(/^[0-9]{1,9}$/, 'cursor is not valid: pass the next_cursor of a previous page unchanged').optional()
})
