import t from 'tap'
import { compileClaimPattern } from '../../src/auth/claim-glob.js'
import { isSamePerson } from '../../src/auth/identity.js'
import { compileOidcRules, renderTemplate } from '../../src/auth/oidc-rules.js'
import { parseConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors/index.js'

// The pieces of SPEC §13 that need no server: claim globs, rules, templates, identities, config.

t.test('claim patterns: exact values, * within a part, ** across parts, ? and escapes', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['org/app', 'org/app', true],
    ['org/app', 'org/app2', false],
    ['org/*', 'org/app', true],
    ['org/*', 'org/app/extra', false],
    ['org/*', 'other/app', false],
    ['refs/heads/release-*', 'refs/heads/release-1.2', true],
    ['refs/heads/release-*', 'refs/heads/release-1/x', false],
    ['refs/heads/**', 'refs/heads/feature/x', true],
    ['repo:org/app:**', 'repo:org/app:ref:refs/heads/main', true],
    ['repo:org/app:**', 'repo:org/application:ref:refs/heads/main', false],
    ['v?', 'v1', true],
    ['v?', 'v10', false],
    ['a.b', 'aXb', false],
    ['literal\\*', 'literal*', true],
    ['literal\\*', 'literalX', false],
    ['pull_request*', 'pull_request_target', true]
  ]
  for (const [pattern, value, expected] of cases) t.equal(compileClaimPattern(pattern)(value), expected, `${pattern} vs ${value}`)
})

const config = parseConfig({
  environments: { staging: { database_url_env: 'S' }, production: { database_url_env: 'P' } },
  auth: {
    oidc: [{
      name: 'gitlab',
      issuer: 'https://gitlab.example.com',
      audience: 'migration-deployer',
      rules: [
        { match: { project_path: 'group/app', ref_protected: 'true', ref: 'main' }, principal: '{project_path}@{ref}', roles: ['deployer'], environments: ['production'], bind_environment: true, person: '{user_login}' },
        { match: { namespace_path: 'group' }, principal: '{project_path}', roles: ['viewer'] }
      ]
    }]
  }
}, '/tmp')
const decide = compileOidcRules(config.oidc[0] as NonNullable<typeof config.oidc[0]>)
const gitlab = { sub: 'project_path:group/app:ref_type:branch:ref:main', project_path: 'group/app', namespace_path: 'group', ref: 'main', ref_protected: 'true', environment: 'production', user_login: 'jane' }

t.test('GitLab rules: the first rule whose claims all match decides', async (t) => {
  t.same(decide(gitlab), {
    principal: {
      name: 'group/app@main',
      roles: ['deployer'],
      environments: ['production'],
      boundEnvironment: 'production',
      identity: { method: 'oidc', issuer: 'https://gitlab.example.com', subject: gitlab.sub, provider: 'gitlab', person: 'jane' }
    }
  })
  const unprotected = decide({ ...gitlab, ref_protected: false, ref: 'feature' })
  t.same('principal' in unprotected ? unprotected.principal.name : unprotected, 'group/app', 'an unprotected ref falls to the reader rule (a boolean claim matches "false"/"true")')
  t.match(decide({ ...gitlab, namespace_path: 'other', project_path: 'other/app' }), { refused: /matches no rule of OIDC issuer gitlab/ })
  t.match(decide({ ...gitlab, environment: undefined }), { refused: /binds tokens to their environment, but the token .* has no "environment" claim/ })
  t.match(decide({ ...gitlab, user_login: undefined }), { refused: /names the person from the claim "user_login"/ })
})

t.test('templates and identities', async (t) => {
  t.equal(renderTemplate('{repository}@{ref}', { repository: 'org/app', ref: 'refs/heads/main' }), 'org/app@refs/heads/main')
  t.same(renderTemplate('{repository}@{ref}', { repository: 'org/app' }), { missing: 'ref' })
  t.ok(isSamePerson({ name: 'octocat' }, { name: 'org/app@main', identity: { method: 'oidc', issuer: 'i', subject: 's', person: 'OctoCat' } }), 'a CI run\'s person and a session')
  t.ok(isSamePerson({ name: 'alice' }, { name: 'alice' }), 'one name')
  t.notOk(isSamePerson({ name: 'mona', identity: { method: 'sso', issuer: 'i', subject: 's2', person: 'mona' } }, { name: 'org/app@main', identity: { method: 'oidc', issuer: 'i', subject: 's', person: 'octocat' } }))
})

t.test('the config refuses what cannot work, each problem with its path', async (t) => {
  const problems = (auth: unknown): string[] => {
    try {
      parseConfig({ environments: { staging: { database_url_env: 'S' } }, auth }, '/tmp')
      return []
    } catch (error) {
      return (error as ConfigError).problems
    }
  }
  t.same(problems({ oidc: [{ name: 'x', issuer: 'http://ci.example.com', audience: 'a', rules: [{ match: { sub: '*' }, principal: 'p', roles: ['viewer'] }] }] }),
    ['auth.oidc.0.issuer: expected an https URL: http is accepted only for a loopback host (127.0.0.1, localhost, [::1])'])
  t.match(problems({ oidc: [{ name: 'x', issuer: 'https://ci.example.com', audience: 'a', rules: [{ match: {}, roles: ['viewer'] }] }] }), [
    /auth\.oidc\.0\.rules\.0\.match: a rule needs at least one claim to match/,
    /auth\.oidc\.0\.rules\.0\.principal: a rule grants a principal/
  ])
  t.match(problems({ oidc: [{ name: 'x', issuer: 'https://ci.example.com', audience: 'a', rules: [{ match: { a: 'b' }, principal: 'p', roles: ['viewer'], environments: ['prod'] }] }] }), [
    /auth\.oidc\.0\.rules\.0\.environments: unknown environment "prod" \(known: staging\)/
  ])
  t.match(problems({ sso: { issuer: 'https://idp.example.com', client_id: 'c', client_secret_env: 'the-secret', redirect_url: 'https://d.example.com/callback', group_roles: {} } }), [
    /client_secret_env: expected the NAME of an environment variable/,
    /redirect_url: the redirect URL ends in \/auth\/sso\/callback/,
    /group_roles: map at least one group to roles/
  ])
})
