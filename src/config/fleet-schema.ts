import { z } from 'zod'

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected the NAME of an environment variable (like TENANT_URL_TEMPLATE), not a value')
const targetName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a target name of letters, digits, _, . and - (at most 63)')
const percent = z.string().regex(/^(100|[1-9]?[0-9])%$/, 'expected a percentage like 10%')
const count = z.number({ error: 'expected a whole number' }).int('expected a whole number').nonnegative('expected a whole number')
const positive = z.number({ error: 'expected a positive integer' }).int('expected a positive integer').positive('expected a positive integer')

/**
 * `targets:` — the databases (or schemas) of a fleet (SPEC §14): a fixed list, each URL in its
 * own variable, or a catalog query whose names fill a URL template held in a variable. No URL
 * ever sits in the config.
 */
export const targetsSchema = z.union([
  z.strictObject({
    list: z.array(z.strictObject({ name: targetName, database_url_env: envName })).nonempty('list at least one target')
      .refine((list) => new Set(list.map((t) => t.name)).size === list.length, 'target names must be unique')
  }),
  z.strictObject({
    /** The variable holding the catalog database's URL. */
    catalog_url_env: envName,
    /** Returns the target names in its first column, e.g. SELECT slug FROM tenants WHERE active. */
    names_query: z.string().min(1),
    /** The variable holding the URL template, with `{name}` where each target's name goes. */
    url_template_env: envName
  })
], { error: 'expected targets: { list: [{ name, database_url_env }] } or targets: { catalog_url_env, names_query, url_template_env }' })

/** `rollout:` — how a fleet deployment goes through its targets. */
export const rolloutSchema = z.strictObject({
  /** The targets that go first, alone: a number (the first n), or names. The rest waits for them to succeed. */
  canary: z.union([count, z.array(targetName).nonempty()]).default(1),
  /** Targets per batch after the canary: a number or a percentage of the fleet. */
  batch_size: z.union([positive, percent]).default('10%'),
  /** Targets applied at once at most (each on its own connection and advisory lock). */
  concurrency: positive.default(8),
  /** Failures tolerated: reaching it stops the rollout (0: the first failure stops it); the rest are skipped. */
  max_failures: z.union([count, percent]).default(0)
})

export type FleetTargetsConfig = z.output<typeof targetsSchema>
export type RolloutConfig = z.output<typeof rolloutSchema>
