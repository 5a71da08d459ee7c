import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { loadConfigFile, parseConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors/index.js'
import { PROJECT_ROOT } from '../helpers/harness.js'

const SHA = 'a'.repeat(64)
const tmp = mkdtempSync(path.join(tmpdir(), 'md-config-'))
t.teardown(() => { rmSync(tmp, { recursive: true, force: true }) })

/** Runs `fn`, which must throw a ConfigError, and returns it. */
function configErrorOf (t: Test, fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (error) {
    t.type(error, ConfigError)
    return error as ConfigError
  }
  t.fail('expected a ConfigError')
  throw new Error('unreachable')
}

t.test('the example config at the project root loads', async (t) => {
  const file = path.join(PROJECT_ROOT, 'migration-deployer.yaml')
  const config = loadConfigFile(file)
  t.equal(config.source, file)
  t.equal(config.workspace_root, path.join(PROJECT_ROOT, 'migrations-fixtures'), 'workspace_root resolves against the file\'s folder')
  t.same(Object.keys(config.environments), ['dev', 'staging', 'production'])
  t.equal(config.environments.production?.protected, true)
  t.equal(config.environments.production?.backup_before_migrate, true, 'a protected environment is backed up by default')
  t.equal(config.environments.production?.mode, 'deploy')
  t.equal(config.environments.production?.approval.required_approvals, 1)
  t.same(config.environments.production?.approval.roles, ['approver'])
  t.equal(config.environments.production?.approval.expires_after, 24 * 3_600_000, '24h in ms')
  t.equal(config.environments.production?.health_check.timeout, 5000)
  t.equal(config.environments.production?.lock_timeout, 10_000)
  t.equal(config.environments.production?.statement_timeout, 0)
  t.equal(config.environments.dev?.protected, false)
  t.equal(config.environments.dev?.mode, 'dev')
  t.equal(config.environments.staging?.mode, 'deploy')
  t.equal(config.environments.dev?.database_url_env, 'DEV_DATABASE_URL')
  t.equal(config.environments.dev?.working_directory, 'app')
  t.equal(config.tokens.length, 5)
  t.same(config.tokens.map((token) => token.name), ['ci-bot', 'alice', 'bob', 'viewer', 'admin'])
  for (const token of config.tokens) t.match(token.sha256, /^[0-9a-f]{64}$/)
  t.equal(config.limits.body_bytes, 5 * 1024 * 1024, 'the default body limit')
})

t.test('a bad config reports every problem with its path', async (t) => {
  const error = configErrorOf(t, () => parseConfig({
    environments: {
      dev: { database_url_env: 'postgres://app:secret@db:5432/app' },
      staging: { database_url_env: 'STAGING_DATABASE_URL', colour: 'blue' },
      production: {
        database_url_env: 'PROD_DATABASE_URL',
        protected: true,
        requires_success_in: ['stagin'],
        approval: { required_approvals: 0, expires_after: '24 hours' },
        backup: { provider: 'tape' },
        migration_tool: 'flyway'
      }
    },
    auth: { tokens: [{ name: 'ci-bot', token: 'hunter2', roles: ['deployer'] }, { name: 'alice', sha256: 'hunter2', roles: ['approver'] }, { name: 'root', sha256: SHA, roles: ['god'] }] },
    limits: { body_bytes: -1 },
    extra: true
  }, tmp, 'bad.yaml'))
  t.equal(error.code, 'CONFIG_INVALID')
  const problems = error.problems
  const expected: Array<[string, RegExp]> = [
    ['environments.dev.database_url_env', /the NAME of an environment variable/],
    ['environments.staging', /Unrecognized key: "colour"/],
    ['environments.production.requires_success_in', /unknown environment "stagin" \(known: dev, staging, production\)/],
    ['environments.production.approval.required_approvals', /^expected a positive integer$/],
    ['environments.production.approval.expires_after', /expected a duration like "5s", "10m" or "24h", got "24 hours"/],
    ['environments.production.backup.provider', /pg_dump/],
    ['environments.production.migration_tool', /prisma/],
    ['auth.tokens.0', /Unrecognized key: "token"/],
    ['auth.tokens.0.sha256', /.+/],
    ['auth.tokens.1.sha256', /lowercase sha256 hex of the token .* never the token itself/],
    ['auth.tokens.2.roles.0', /viewer/],
    ['limits.body_bytes', /^expected a positive integer$/],
    ['(root)', /Unrecognized key: "extra"/]
  ]
  for (const [where, message] of expected) {
    const found = problems.filter((problem) => problem.startsWith(`${where}: `))
    t.ok(found.length > 0, `a problem at ${where} (got:\n${problems.join('\n')})`)
    t.ok(found.some((problem) => message.test(problem.slice(where.length + 2))), `${where}: ${message}`)
  }
  t.equal(problems.length, expected.length, 'nothing more, nothing less: every problem, each once')
  t.ok(problems.includes('environments.production.approval.required_approvals: expected a positive integer'), 'SPEC §3\'s own example, verbatim')
  // The message lists them all too, one per line, and names the file.
  t.match(error.message, /^invalid config bad\.yaml:\n {2}/)
  for (const problem of problems) t.ok(error.message.includes(problem), `message includes "${problem}"`)
  t.notMatch(error.message, /secret/, 'a URL given by mistake is not echoed with its password')
  t.notMatch(error.message, /hunter2/, 'a plain token given by mistake is not echoed')
})

t.test('a config with no environments, or not a mapping, is refused', async (t) => {
  t.match(configErrorOf(t, () => parseConfig({ environments: {} }, tmp)).problems, ['environments: define at least one environment'])
  t.match(configErrorOf(t, () => parseConfig({}, tmp)).problems, [/^environments: /])
  t.match(configErrorOf(t, () => parseConfig(null, tmp)).problems, [/^environments: /], 'an empty YAML file')
  t.match(configErrorOf(t, () => parseConfig(['dev'], tmp)).problems, [/^\(root\): /])
  t.match(configErrorOf(t, () => parseConfig({ environments: { Prod: { database_url_env: 'X' } } }, tmp)).problems, [/^environments\.Prod: environment names are lowercase/])
  const duplicate = configErrorOf(t, () => parseConfig({ environments: { dev: { database_url_env: 'X' } }, auth: { tokens: [{ name: 'a', sha256: SHA, roles: ['admin'] }, { name: 'a', sha256: SHA, roles: ['viewer'] }] } }, tmp))
  t.same(duplicate.problems, ['auth.tokens.1.name: duplicate token name "a"'])
})

t.test('a missing file and invalid YAML give clear messages', async (t) => {
  const missing = path.join(tmp, 'nope.yaml')
  const notFound = configErrorOf(t, () => loadConfigFile(missing))
  t.equal(notFound.message, `cannot read config file ${missing}: ENOENT`)

  const broken = path.join(tmp, 'broken.yaml')
  writeFileSync(broken, 'environments:\n  dev:\n    database_url_env: DEV_DATABASE_URL\n   staging: [unclosed\n')
  const invalid = configErrorOf(t, () => loadConfigFile(broken))
  t.match(invalid.message, new RegExp(`^config file ${broken.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not valid YAML: `))
  t.match(invalid.message, /line \d+/, 'says where in the file')

  const wrong = path.join(tmp, 'wrong.yaml')
  writeFileSync(wrong, 'environments:\n  dev:\n    database_url_env: DEV_DATABASE_URL\n    protected: "yes"\n')
  const typed = configErrorOf(t, () => loadConfigFile(wrong))
  t.match(typed.message, new RegExp(`^invalid config ${wrong.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:`))
  t.same(typed.problems.map((p) => p.split(':')[0]), ['environments.dev.protected'])
})

t.test('defaults: mode by name, backups follow protected, approvals and checks filled in', async (t) => {
  const config = parseConfig({
    environments: {
      dev: { database_url_env: 'DEV_DATABASE_URL' },
      test: { database_url_env: 'TEST_DATABASE_URL' },
      qa: { database_url_env: 'QA_DATABASE_URL' },
      production: { database_url_env: 'PROD_DATABASE_URL', protected: true },
      prod_no_backup: { database_url_env: 'PROD2_DATABASE_URL', protected: true, backup_before_migrate: false },
      sandbox: { database_url_env: 'SANDBOX_DATABASE_URL', mode: 'dev', backup_before_migrate: true },
      'dev-like': { database_url_env: 'DEV2_DATABASE_URL', mode: 'deploy' }
    }
  }, tmp)
  const env = config.environments
  t.equal(env.dev?.mode, 'dev')
  t.equal(env.test?.mode, 'dev')
  t.equal(env.qa?.mode, 'deploy')
  t.equal(env.production?.mode, 'deploy')
  t.equal(env.sandbox?.mode, 'dev', 'mode: overrides the name')
  t.equal(env['dev-like']?.mode, 'deploy')
  t.equal(env.dev?.backup_before_migrate, false)
  t.equal(env.qa?.backup_before_migrate, false)
  t.equal(env.production?.backup_before_migrate, true, 'backup_before_migrate defaults to protected')
  t.equal(env.prod_no_backup?.backup_before_migrate, false, 'and can be turned off')
  t.equal(env.sandbox?.backup_before_migrate, true, 'or on')
  t.equal(env.dev?.protected, false)
  t.equal(env.dev?.migration_tool, 'prisma')
  t.equal(env.dev?.on_failure, 'none')
  t.same(env.dev?.requires_success_in, [])
  t.equal(env.dev?.lock_timeout, 10_000)
  t.equal(env.dev?.statement_timeout, 0)
  t.same(env.production?.approval, { required_approvals: 1, roles: ['approver', 'admin'], allow_self_approval: false, expires_after: 86_400_000, auto_approve_roles: [] })
  t.same(env.production?.backup, { provider: 'pg_dump', dir: '.data/backups', keep: 10 })
  t.same(env.production?.health_check, { checks: ['connectivity', 'schema', 'migrations'], timeout: 5000, sql: [] })
  t.equal(env.production?.name, 'production')
  t.equal(config.workspace_root, tmp, 'workspace_root defaults to the config\'s folder')
  t.same(config.tokens, [])
  t.same(config.limits, {
    body_bytes: 5 * 1024 * 1024,
    rate_limit: { max: 600, window: 60_000 },
    max_statements_per_migration: 10_000,
    parse_timeout: 30_000,
    json_depth: 32,
    queued_per_token: 20
  })

  // Partial blocks get the rest of their defaults.
  const partial = parseConfig({ workspace_root: 'ws', environments: { production: { database_url_env: 'P', approval: { required_approvals: 2 }, health_check: { timeout: '500ms' } } } }, tmp)
  t.same(partial.environments.production?.approval, { required_approvals: 2, roles: ['approver', 'admin'], allow_self_approval: false, expires_after: 86_400_000, auto_approve_roles: [] })
  t.same(partial.environments.production?.health_check, { checks: ['connectivity', 'schema', 'migrations'], timeout: 500, sql: [] })
  t.equal(partial.workspace_root, path.join(tmp, 'ws'))
})

t.test('durations: units, bare seconds, and what is refused', async (t) => {
  const durations: Array<[string | number, number]> = [['500ms', 500], ['5s', 5000], ['10m', 600_000], ['24h', 86_400_000], ['7d', 604_800_000], [30, 30_000], ['1.5s', 1500], ['0', 0]]
  for (const [text, ms] of durations) {
    const config = parseConfig({ environments: { dev: { database_url_env: 'D', lock_timeout: text } } }, tmp)
    t.equal(config.environments.dev?.lock_timeout, ms, `${JSON.stringify(text)} is ${ms} ms`)
  }
  const wrongType = configErrorOf(t, () => parseConfig({ environments: { dev: { database_url_env: 'D', lock_timeout: true } } }, tmp))
  t.match(wrongType.problems, [/^environments\.dev\.lock_timeout: .*duration/])
  t.equal(wrongType.problems.length, 1)
  for (const text of ['24 hours', '5 min', '-5s', 'soon', '', -1]) {
    const error = configErrorOf(t, () => parseConfig({ environments: { dev: { database_url_env: 'D', lock_timeout: text } } }, tmp))
    t.same(error.problems, [`environments.dev.lock_timeout: expected a duration like "5s", "10m" or "24h", got ${JSON.stringify(text)}`])
  }
})

t.test('migration_tool sql and command: their options, defaults and every problem by path', async (t) => {
  const config = parseConfig({
    environments: {
      dev: { database_url_env: 'DEV_DATABASE_URL', migration_tool: 'command', command: { preset: 'typeorm' }, working_directory: 'typeorm-app' },
      staging: { database_url_env: 'STAGING_DATABASE_URL', migration_tool: 'sql', working_directory: 'sql-app' },
      qa: { database_url_env: 'QA_DATABASE_URL', migration_tool: 'command', command: { status: ['node', 'tool.mjs', 'status'], apply: ['node', 'tool.mjs', 'apply'], status_format: 'patterns', status_patterns: { applied: '^A (?<name>\\S+)$', pending: '^P (?<name>\\S+)$' }, url_env: 'TARGET_URL', timeout: '5m' } }
    }
  }, tmp)
  t.same(config.environments.dev?.command, { preset: 'typeorm', url_env: 'DATABASE_URL', env: {}, pass_env: [], timeout: 30 * 60_000, status_timeout: 2 * 60_000 }, 'two lines of config: the preset fills the rest')
  t.equal(config.environments.dev?.health_check.timeout, 60_000, 'a command tool\'s status starts a process: 60s by default')
  t.equal(config.environments.staging?.migration_tool, 'sql')
  t.equal(config.environments.staging?.health_check.timeout, 5000)
  t.equal(config.environments.qa?.command?.timeout, 5 * 60_000)

  const error = configErrorOf(t, () => parseConfig({
    environments: {
      a: { database_url_env: 'A_URL', migration_tool: 'command' },
      b: { database_url_env: 'B_URL', command: { preset: 'typeorm' } },
      c: { database_url_env: 'C_URL', migration_tool: 'command', command: { preset: 'knex' }, sql: { history_table: 'h' } },
      d: { database_url_env: 'D_URL', migration_tool: 'command', command: { apply: [], url_env: 'postgres://x', data_source: 'ds.js' } },
      e: { database_url_env: 'E_URL', migration_tool: 'command', command: { status: ['t'], apply: ['t'], status_format: 'patterns', status_patterns: { applied: '(unclosed', pending: '^P (\\S+)$' }, env: { DATABASE_URL: 'postgres://u:p@h/db' } } },
      f: { database_url_env: 'F_URL', migration_tool: 'sql', sql: { history_table: 'Bad Name' } },
      g: { database_url_env: 'G_URL', migration_tool: 'command', command: { status: ['t'], apply: ['t'], status_format: 'patterns' } }
    }
  }, tmp, 'tools.yaml'))
  const expected: Array<[string, RegExp]> = [
    ['environments.a.command', /migration_tool command needs command: \{ preset: typeorm \| sequelize \| prisma \}/],
    ['environments.b.command', /command is only for migration_tool: command \(this environment uses prisma\)/],
    ['environments.c.command.preset', /expected "typeorm", "sequelize" or "prisma"/],
    ['environments.c.sql', /sql is only for migration_tool: sql \(this environment uses command\)/],
    ['environments.d.command.apply', /expected the program and its arguments as a list/],
    ['environments.d.command.url_env', /the NAME of an environment variable/],
    ['environments.d.command.data_source', /data_source is for preset: typeorm only/],
    ['environments.d.command.status', /required without a preset/],
    ['environments.e.command.status_patterns.applied', /not a valid regular expression/],
    ['environments.e.command.status_patterns.pending', /needs a \(\?<name>…\) group/],
    ['environments.e.command.env.DATABASE_URL', /carries the target's URL \(url_env\): it is set by the deployer, never in config/],
    ['environments.f.sql.history_table', /expected a lowercase table name/],
    ['environments.g.command.status_patterns', /status_format patterns needs status_patterns/]
  ]
  for (const [where, message] of expected) {
    t.ok(error.problems.some((problem) => problem.startsWith(`${where}: `) && message.test(problem)), `${where}: ${String(message)}\n${error.problems.join('\n')}`)
  }
  t.notMatch(error.message, /u:p@/, 'the URL a user put in env is not echoed')
})

t.test('rehearsal (SPEC §12): on by default for protected environments, off otherwise, false turns it off, bad values named', async (t) => {
  const config = parseConfig({
    environments: {
      staging: { database_url_env: 'STAGING_URL' },
      production: { database_url_env: 'PROD_URL', protected: true },
      quiet: { database_url_env: 'QUIET_URL', protected: true, rehearsal: false },
      tuned: { database_url_env: 'TUNED_URL', rehearsal: { copy_data_below: '5MB', database_url_env: 'REHEARSAL_URL', on_prediction: 'warn', timeout: '2m' } }
    }
  }, PROJECT_ROOT)
  t.equal(config.environments.staging?.rehearsal, false)
  t.same(config.environments.production?.rehearsal, {
    preflight: true, schema: true, copy_data_below: '0MB', timeout: 600_000, preflight_query_timeout: 30_000, on_prediction: 'fail'
  })
  t.equal(config.environments.quiet?.rehearsal, false)
  t.match(config.environments.tuned?.rehearsal, { copy_data_below: '5MB', database_url_env: 'REHEARSAL_URL', on_prediction: 'warn', timeout: 120_000, preflight: true })
  t.throws(() => parseConfig({ environments: { p: { database_url_env: 'P', rehearsal: { copy_data_below: 'lots', on_prediction: 'maybe' } } } }, PROJECT_ROOT), {
    message: /environments\.p\.rehearsal\.copy_data_below: expected a size like "0MB", "500kB" or "2GB"[\s\S]*environments\.p\.rehearsal\.on_prediction/
  })
})
