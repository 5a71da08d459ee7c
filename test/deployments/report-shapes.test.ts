import t, { type Test } from 'tap'
import { z } from 'zod'
import { startHarness, type Harness } from '../helpers/harness.js'

// Every report shape the original skill defines (SPEC §6), written from the spec as zod schemas:
// the fields the skill names, with its types and words. Objects are not strict: extra fields are
// welcome, a named field never changes its type or vocabulary (CI scripts parse them).

const healthOutcome = z.enum(['passed', 'failed', 'skipped'])
const backupId = z.string().regex(/^backup-\d{8}-\d{6}(-[0-9a-z]+)?$/, 'backup_id looks like backup-20250124-103000 (a suffix may make it unique)')
const operation = z.enum(['deploy-migrations', 'preview-migrations', 'restore-backup'])
const seconds = z.number().nonnegative()
const count = z.number().int().nonnegative()

const success = z.object({
  status: z.literal('success'),
  operation: z.literal('deploy-migrations'),
  environment: z.string(),
  result: z.object({
    migrations_applied: count.min(1),
    migrations: z.array(z.object({ name: z.string(), status: z.literal('applied'), duration_seconds: seconds })).min(1),
    total_duration_seconds: seconds,
    backup_id: backupId.nullable(),
    health_check_before: healthOutcome,
    health_check_after: healthOutcome
  }),
  message: z.string().regex(/^Successfully applied \d+ migrations? to \S+$/)
})

const preview = z.object({
  status: z.literal('success'),
  operation: z.literal('preview-migrations'),
  environment: z.string(),
  result: z.object({
    pending_migrations: count,
    migrations: z.array(z.object({ name: z.string(), sql: z.string(), estimated_duration_seconds: seconds })),
    total_estimated_duration_seconds: seconds
  }),
  message: z.literal('Preview only - no changes applied')
})

const noPending = z.object({
  status: z.literal('success'),
  operation,
  environment: z.string(),
  result: z.object({ migrations_applied: z.literal(0), message: z.literal('No pending migrations') })
})

const error = z.object({
  status: z.literal('error'),
  operation,
  environment: z.string(),
  error: z.string().min(1),
  result: z.object({
    failed_migration: z.string().nullable(),
    backup_id: backupId.nullable(),
    migrations_applied_before_failure: count,
    rollback_initiated: z.boolean(),
    rollback_status: z.enum(['success', 'failed']).nullable()
  }),
  recovery: z.object({ backup_id: backupId.nullable(), rollback_command: z.string().nullable(), suggestions: z.array(z.string()).min(1) })
})

const healthCheckFailed = error.extend({
  error: z.literal('Pre-deployment health check failed'),
  result: error.shape.result.extend({
    health_check: z.literal('failed'),
    details: z.array(z.object({ check: z.string(), passed: z.boolean(), message: z.string() })).min(1)
  })
})

const backupFailed = error.extend({
  error: z.string().startsWith('Backup failed'),
  result: error.shape.result.extend({ backup_error: z.string().min(1), migrations_applied_before_failure: z.literal(0) })
})

const migrationFailedWithRollback = error.extend({
  error: z.string().regex(/^Migration \S+ failed$/),
  result: error.shape.result.extend({
    failed_migration: z.string(),
    backup_id: backupId,
    database_error: z.string().min(1),
    rollback_initiated: z.literal(true),
    rollback_status: z.literal('success')
  }),
  recovery: error.shape.recovery.extend({ backup_id: backupId, rollback_command: z.string() })
})

const postHealthCheckFailed = error.extend({
  error: z.literal('Post-deployment health check failed'),
  result: error.shape.result.extend({ health_check_after: z.literal('failed'), auto_rollback_triggered: z.boolean() })
})

const backedUp = (dir: string): Record<string, unknown> => ({
  backup_before_migrate: true, backup: { provider: 'pg_dump', dir, keep: 3 }, on_failure: 'restore_backup'
})
const widgets = { name: '20250101000000_widgets', sql: 'CREATE TABLE widgets (id serial primary key, label text not null);\n' }
const gadgets = { name: '20250102000000_gadgets', sql: 'CREATE TABLE gadgets (id serial primary key);\n' }
const broken = { name: '20250103000000_broken', sql: 'INSERT INTO no_such_table VALUES (1);\n' }

async function deploy (h: Harness, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const created = await h.request('POST', '/deployments', { body })
  if (created.statusCode !== 202) throw new Error(created.body)
  const done = await h.waitFor(created.json().id, ['succeeded', 'failed'])
  return done.report as Record<string, unknown>
}

// Each shape comes from a real deployment that ends that way; run in this order (dev: preview,
// then success, then nothing pending).
interface Shape {
  shape: string
  schema: z.ZodType
  /** A real deployment that ends with this shape; returns its report. */
  run: (h: Harness) => Promise<Record<string, unknown>>
  also?: (t: Test, report: Record<string, unknown>) => void
}

const SHAPES: Shape[] = [
  { shape: 'preview', schema: preview, run: async (h) => await deploy(h, { environment: 'dev', dry_run: true, migrations: [widgets, gadgets] }) },
  { shape: 'success', schema: success, run: async (h) => await deploy(h, { environment: 'dev', migrations: [widgets, gadgets] }) },
  { shape: 'no pending', schema: noPending, run: async (h) => await deploy(h, { environment: 'dev', migrations: [widgets, gadgets] }) },
  {
    shape: 'pre-deployment health check failed',
    schema: healthCheckFailed,
    run: async (h) => await deploy(h, { environment: 'unhealthy', migrations: [widgets] })
  },
  { shape: 'backup failed', schema: backupFailed, run: async (h) => await deploy(h, { environment: 'nobackup', migrations: [widgets] }) },
  {
    shape: 'migration failed with rollback',
    schema: migrationFailedWithRollback,
    run: async (h) => await deploy(h, { environment: 'rollback', migrations: [widgets, gadgets, broken] }),
    also: (t, report) => {
      const result = report.result as { migrations_applied_before_failure: number, applied_migrations: string[] }
      t.equal(result.migrations_applied_before_failure, 2, 'the two migrations before the broken one are counted')
      t.same(result.applied_migrations, [widgets.name, gadgets.name], 'and named in an extra field')
    }
  },
  {
    shape: 'post-deployment health check failed',
    schema: postHealthCheckFailed,
    run: async (h) => await deploy(h, { environment: 'checked', migrations: [widgets] })
  }
]

t.test('every report shape of SPEC §6, from real deployments, matches the skill\'s types and words', async (t) => {
  const dir = t.testdir({})
  const h = await startHarness({
    environments: {
      dev: {},
      unhealthy: { health_check: { checks: ['connectivity'], sql: [{ name: 'always_fails', query: 'SELECT false' }] } },
      nobackup: { ...backedUp(dir), backup: { provider: 'pg_dump', dir, pg_dump_path: '/nonexistent/pg_dump' } },
      rollback: backedUp(dir),
      // Passes before (no widgets yet), fails once widgets exists: the rollback removes it again.
      checked: {
        ...backedUp(dir),
        health_check: { checks: ['connectivity'], sql: [{ name: 'no_widgets_yet', query: 'SELECT to_regclass(\'public.widgets\') IS NULL' }] }
      }
    }
  })
  t.teardown(h.close)
  for (const { shape, schema, run, also } of SHAPES) {
    await t.test(shape, async (t) => {
      const report = await run(h)
      const parsed = schema.safeParse(report)
      t.ok(parsed.success, parsed.success ? `${shape}: matches SPEC §6` : `${shape}: ${z.prettifyError(parsed.error)}\n${JSON.stringify(report)}`)
      also?.(t, report)
    })
  }
})
