import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { runCli } from '../helpers/cli.js'
import { PROJECT_ROOT } from '../helpers/harness.js'

/** Every `migration-deployer …` command line in a YAML file's strings. */
function commandLines (value: unknown): string[] {
  if (typeof value === 'string') return value.split('\n').flatMap((line) => /^(?:npx )?migration-deployer (.*?)(?:\s*>.*)?$/.exec(line.trim())?.[1] ?? [])
  if (Array.isArray(value)) return value.flatMap(commandLines)
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(commandLines)
  return []
}

for (const file of ['examples/github-actions.yml', 'examples/github-actions-oidc.yml', 'examples/gitlab-ci.yml']) {
  t.test(`${file} parses and calls the CLI with options it accepts`, async (t) => {
    const document = parseYaml(readFileSync(path.join(PROJECT_ROOT, file), 'utf8')) as unknown
    const lines = commandLines(document)
    t.ok(lines.length >= 3, `${lines.length} CLI calls`)
    t.ok(lines.some((line) => line.includes('--wait') && line.includes('production')), 'deploys to production and waits')
    // The package is in no public registry: the CLI comes from the tarball `npm pack` makes, at a URL the user sets.
    const text = readFileSync(path.join(PROJECT_ROOT, file), 'utf8')
    t.match(text, /npm install --global "\$MIGRATION_DEPLOYER_PACKAGE"/, 'installs the CLI from the package tarball')
    t.notMatch(text, /npm (install|i|ci)\b[^\n]*\smigration-deployer(@|\s|$)/m, 'never installs a registry package named migration-deployer')
    t.notMatch(text, /^\s*- (run: )?npm ci\s*$/m, 'no npm ci that would need the CLI in the app\'s own lock')
    for (const line of lines) {
      // With no server configured, a command line the CLI accepts stops exactly at "no server".
      const run = await runCli(line.split(/\s+/), { DEPLOYER_URL: '', DEPLOYER_TOKEN: '' })
      t.equal(run.code, 2, line)
      t.match(run.stderr, /no server: set DEPLOYER_URL/, `${line}: options accepted`)
    }
  })
}

t.test('the OIDC workflow stores no secret: each job asks GitHub for a token', async (t) => {
  const text = readFileSync(path.join(PROJECT_ROOT, 'examples/github-actions-oidc.yml'), 'utf8')
  const document = parseYaml(text) as { permissions?: Record<string, string>, env?: Record<string, string> }
  t.equal(document.permissions?.['id-token'], 'write', 'id-token: write')
  t.notMatch(text.replace(/^#.*$/gm, ''), /secrets\.|DEPLOYER_TOKEN/, 'no secret and no token variable outside the comments')
  const lines = commandLines(document)
  t.ok(lines.length >= 3 && lines.every((line) => line.includes('--oidc-audience migration-deployer')), 'every CLI call fetches its token')
})
