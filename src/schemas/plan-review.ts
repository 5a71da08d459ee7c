import { z } from 'zod'
import { PREFLIGHT_CHECKS, PREFLIGHT_STATUSES, SCHEMA_OBJECTS } from '../domain/index.js'

/** One preflight count (SPEC §12): counts and names, never a row's values. */
export const preflightCheckSchema = z.object({
  migration: z.string(),
  statement_index: z.number().int().meta({ description: '0-based index of the statement in its migration file' }),
  check: z.enum(PREFLIGHT_CHECKS),
  relation: z.string().meta({ example: '"User"' }),
  columns: z.array(z.string()),
  offending_rows: z.number().int().nullable().meta({ description: 'Rows the statement would fail on; null when not counted' }),
  status: z.enum(PREFLIGHT_STATUSES),
  reason: z.string().nullable().meta({ example: '3 rows of "User" have NULL in "email"' })
}).meta({ id: 'PreflightCheck' })

/** The plan applied to a scratch copy of the target (SPEC §12). */
export const rehearsalSchema = z.object({
  status: z.enum(['passed', 'failed', 'skipped']),
  reason: z.string().nullable(),
  duration_seconds: z.number(),
  migrations: z.array(z.object({
    name: z.string(),
    duration_seconds: z.number(),
    locks: z.array(z.object({ relation: z.string(), mode: z.string().meta({ example: 'ShareLock' }), held_ms: z.number() })),
    rewrites: z.array(z.string())
  })),
  schema_diff: z.object({
    summary: z.array(z.object({ object: z.enum(SCHEMA_OBJECTS), name: z.string(), change: z.enum(['added', 'dropped', 'altered']) })),
    unified: z.string().meta({ description: 'A unified diff of `pg_dump --schema-only` before and after' })
  }).nullable()
}).meta({ id: 'Rehearsal' })
