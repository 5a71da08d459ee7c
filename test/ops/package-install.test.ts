import { cpSync, existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { execa } from 'execa'
import t from 'tap'
import { cloneHead, NPM_QUIET, seedNodeModules, whyNoClone } from '../helpers/fresh-clone.js'
import { startHarness, tokenOf } from '../helpers/harness.js'
import { listenOnLoopback } from '../helpers/listen.js'

/**
 * The package is publish-ready (issue 16 item 1): `npm pack` in a fresh clone makes a tarball
 * that, installed into an empty project, gives a working `npx migration-deployer --help` and
 * `deploy` — the compiled CLI, with no TypeScript source and no dev dependency.
 */

// Packing builds dist/ with tsc and installing resolves the runtime dependencies: minutes on a busy machine.
t.setTimeout(480_000)

const cannot = await whyNoClone()
if (cannot !== undefined) {
  t.test('npm pack, then install the tarball into an empty project', { skip: `${cannot}: the package is packed from a clone` }, async () => {})
} else {
  const h = await startHarness({ environments: { dev: { working_directory: 'app' } } })
  t.teardown(h.close)
  const server = await listenOnLoopback(h)
  const clone = await cloneHead()
  t.teardown(clone.remove)

  t.test('npm pack, then install the tarball into an empty project', async (t) => {
    await seedNodeModules(clone.dir)
    const packed = await execa('npm', ['pack', '--pack-destination', clone.base, '--json'], { cwd: clone.dir, reject: false })
    t.equal(packed.exitCode, 0, packed.exitCode === 0 ? 'npm pack (prepack builds dist/)' : packed.stderr.slice(-2000))
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string, files: Array<{ path: string }> }>
    const files = (info?.files ?? []).map((f) => f.path)
    const tarball = path.join(clone.base, info?.filename ?? 'missing.tgz')
    t.ok(existsSync(tarball), `${info?.filename ?? '(no tarball)'} written`)
    const needed = ['bin/migration-deployer.js', 'dist/cli/main.js', 'dist/server.js', 'ui/index.html', 'package.json']
    for (const file of [...needed, 'src/store/migrations/20261129000000_control_schema/migration.sql']) {
      t.ok(files.includes(file), `the tarball has ${file}`)
    }
    const unwanted = /^(src\/(?!store\/migrations\/)|test\/|\.data\/|node_modules\/)|\.ts$|\.map$/
    t.same(files.filter((f) => unwanted.test(f)), [], 'no source, tests, local data or maps')

    const project = path.join(clone.base, 'empty-project')
    mkdirSync(project)
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }, null, 2))
    const installed = await execa('npm', ['install', ...NPM_QUIET, tarball], { cwd: project, reject: false })
    t.equal(installed.exitCode, 0, installed.exitCode === 0 ? 'npm install <tarball>' : installed.stderr.slice(-2000))
    t.ok(existsSync(path.join(project, 'node_modules/.bin/migration-deployer')), 'the bin is linked')

    // Nothing from the test's environment: what a user's shell would have, and the deployer's address.
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? clone.base }
    const npx = async (args: string[], extra: Record<string, string> = {}): Promise<{ exitCode: number, stdout: string, stderr: string }> => {
      const run = await execa('npx', ['migration-deployer', ...args], { cwd: project, env: { ...env, ...extra }, extendEnv: false, reject: false })
      return { exitCode: run.exitCode ?? -1, stdout: run.stdout, stderr: run.stderr }
    }
    const help = await npx(['--help'])
    t.equal(help.exitCode, 0, help.stderr)
    t.match(help.stdout, /^usage: migration-deployer <command> \[options\]/)
    const version = await npx(['--version'])
    t.equal(version.stdout.trim(), (JSON.parse(readFileSync(path.join(clone.dir, 'package.json'), 'utf8')) as { version: string }).version)
    const startHelp = await npx(['start', '--help'])
    t.equal(startHelp.exitCode, 0, 'start --help needs no DATABASE_URL')

    // The project's own migrations, uploaded inline to the running deployer.
    cpSync(path.join(clone.dir, 'migrations-fixtures/app/prisma'), path.join(project, 'prisma'), { recursive: true })
    const deploy = await npx(['deploy', '--env', 'dev', '--dir', 'prisma', '--wait'], { DEPLOYER_URL: server, DEPLOYER_TOKEN: tokenOf('ci-bot') })
    t.equal(deploy.exitCode, 0, deploy.stderr)
    t.match(deploy.stdout, /Created dep_\w+ \(queued\): 5 migrations from prisma → dev/)
    t.match(deploy.stdout, /✅ COMPLETED: Migration Deployer\nEnvironment: dev\nMigrations Applied: 5/)
  })
}
