import t from 'tap'
import { parseConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors/index.js'

/** The security settings of the config: rate limit, reserved actor name, environment lookup. */

const hash = 'a'.repeat(64)
const base = { environments: { dev: { database_url_env: 'DEV_DATABASE_URL' } } }

function problemsOf (document: unknown): string[] {
  try {
    parseConfig(document, '/tmp')
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

t.test('limits.rate_limit: defaults, durations, and every problem by path', async (t) => {
  t.same(parseConfig(base, '/tmp').limits.rate_limit, { max: 600, window: 60_000 }, 'sane defaults')
  t.same(parseConfig({ ...base, limits: { rate_limit: { max: 20, window: '10s' } } }, '/tmp').limits, {
    body_bytes: 5 * 1024 * 1024,
    rate_limit: { max: 20, window: 10_000 },
    max_statements_per_migration: 10_000,
    parse_timeout: 30_000,
    json_depth: 32,
    queued_per_token: 20
  })
  t.same(parseConfig({ ...base, limits: { rate_limit: { max: 20 } } }, '/tmp').limits.rate_limit, { max: 20, window: 60_000 }, 'a partial block keeps the other default')
  t.same(problemsOf({ ...base, limits: { rate_limit: { max: 0, window: 'soon' } } }).map((p) => p.split(':')[0]).sort(), ['limits.rate_limit.max', 'limits.rate_limit.window'])
  t.same(problemsOf({ ...base, limits: { rate_limit: { max: 5, per: 'token' } } }).map((p) => p.split(':')[0]), ['limits.rate_limit'], 'unknown keys are refused')
})

t.test('"system" is reserved for the service\'s own audit events', async (t) => {
  const problems = problemsOf({ ...base, auth: { tokens: [{ name: 'system', sha256: hash, roles: ['admin'] }] } })
  t.equal(problems.length, 1)
  t.match(problems[0], /^auth\.tokens\.0\.name: "system" is reserved/)
})

t.test('environment lookups by a client-supplied name find only configured environments', async (t) => {
  const config = parseConfig(base, '/tmp')
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    t.equal(config.environments[name], undefined, name)
  }
  t.same(Object.keys(config.environments), ['dev'])
})

t.test('limits on what one request costs: defaults, durations, and every problem by path', async (t) => {
  const limits = parseConfig({ ...base, limits: { max_statements_per_migration: 500, parse_timeout: '5s', json_depth: 8, queued_per_token: 3 } }, '/tmp').limits
  t.match(limits, { max_statements_per_migration: 500, parse_timeout: 5000, json_depth: 8, queued_per_token: 3 })
  const problems = problemsOf({ ...base, limits: { max_statements_per_migration: 0, parse_timeout: 'later', json_depth: 1.5, queued_per_token: -1 } })
  t.same(problems.map((p) => p.split(':')[0]).sort(), ['limits.json_depth', 'limits.max_statements_per_migration', 'limits.parse_timeout', 'limits.queued_per_token'])
})
