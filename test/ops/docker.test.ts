import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { buildContextFiles, dockerignoreFilter } from '../helpers/docker-context.js'
import { readDockerfile } from '../helpers/dockerfile.js'
import { PROJECT_ROOT } from '../helpers/harness.js'

// No Docker engine runs here: the Dockerfile and docker-compose.yml are checked statically; the
// image's stages are built and run by image-contents.test.ts.

t.test('the Dockerfile: stages, every COPY source exists, pg_dump in the runtime, the build CI runs', async (t) => {
  const instructions = readDockerfile(PROJECT_ROOT)
  const stages = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.stage)
  t.same(stages, ['deps', 'build', 'prod-deps', 'runtime'], 'multi-stage, runtime last')
  for (const copy of instructions.filter((i) => i.keyword === 'COPY')) {
    const parts = copy.args.split(/\s+/)
    if (parts.some((p) => p.startsWith('--from='))) {
      const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length)
      t.ok(stages.indexOf(from as string) !== -1 && stages.indexOf(from as string) < stages.indexOf(copy.stage), `COPY --from=${from as string} names an earlier stage`)
      continue
    }
    const sources = parts.filter((p) => !p.startsWith('--')).slice(0, -1)
    for (const source of sources) t.ok(existsSync(path.join(PROJECT_ROOT, source)), `COPY source ${source} exists`)
  }
  const build = instructions.filter((i) => i.stage === 'build' && i.keyword === 'RUN').map((i) => i.args)
  t.ok(build.includes('npm run build'), 'the build stage runs npm run build')
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>, scripts: Record<string, string> }
  t.equal(pkg.scripts.build, 'tsc -p tsconfig.build.json')
  const runtime = instructions.filter((i) => i.stage === 'runtime')
  t.ok(runtime.some((i) => i.keyword === 'RUN' && /apt-get install .*\bpostgresql-client\b/.test(i.args)), 'the runtime installs postgresql-client (pg_dump, pg_restore)')
  t.ok(runtime.some((i) => i.keyword === 'COPY' && i.args === '--from=build /app/dist ./dist'), 'the runtime takes the build output')
  t.ok(runtime.some((i) => i.keyword === 'COPY' && i.args === 'src/store/migrations ./src/store/migrations'), 'the runtime has the control-DB migrations where control-schema.ts reads them')
  const entrypoint = runtime.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? ''
  // The package bin (bin/migration-deployer.js) runs the compiled CLI when there is no TypeScript source beside it, as in the image.
  const bin = readFileSync(path.join(PROJECT_ROOT, pkg.bin['migration-deployer'] as string), 'utf8')
  t.match(bin, "'../dist/cli/main.js'", 'the package bin runs dist/cli/main.js')
  t.match(entrypoint, '"dist/cli/main.js"', 'the entrypoint is the compiled CLI the package bin runs')
  t.ok(runtime.some((i) => i.keyword === 'USER' && i.args === 'node'), 'it does not run as root')
  // control-schema.ts resolves the migrations from its compiled place: dist/store → ../../src/store/migrations.
  t.match(readFileSync(path.join(PROJECT_ROOT, 'src/store/control-schema.ts'), 'utf8'), "new URL('../../src/store/migrations', import.meta.url)")
})

t.test('the build context: .dockerignore read with Docker\'s rules, applied to the tracked files', async (t) => {
  const ignored = dockerignoreFilter('# comment\nnode_modules\n*.log\n**/*.tmp\ndocs\n!docs/keep.md\n')
  t.ok(ignored('node_modules/pg/index.js'), 'a folder pattern leaves out everything inside it')
  t.ok(ignored('npm-debug.log'), '*.log at the root')
  t.notOk(ignored('logs/app.log'), '*.log stays within the root segment, as in Docker')
  t.ok(ignored('a/b/c.tmp'), '**/ spans folders')
  t.ok(ignored('docs/other.md'))
  t.notOk(ignored('docs/keep.md'), 'a later ! rule lets a file back in')
  t.notOk(ignored('src/app.ts'))
  const context = buildContextFiles(PROJECT_ROOT)
  t.ok(context.includes('package-lock.json') && context.includes('ui/index.html'), 'tracked files are in it')
  t.notOk(context.some((file) => file.startsWith('node_modules/') || file.startsWith('.data/') || file.startsWith('dist/')), 'nothing installed or generated')
})

t.test('docker-compose.yml: PostgreSQL, Redis, two APIs, two workers, a target DB; only files that exist', async (t) => {
  const file = path.join(PROJECT_ROOT, 'docker-compose.yml')
  const compose = parseYaml(readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, { build?: string, image?: string, command?: string[], volumes?: string[], environment?: Record<string, string> }> }
  const services = compose.services
  const commands = (name: string): string[] => Object.entries(services).filter(([, s]) => s.command?.[0] === name).map(([n]) => n)
  t.equal(commands('serve').length, 2, 'two API processes')
  t.equal(commands('worker').length, 2, 'two workers')
  t.match(services.postgres?.image, /^postgres:/)
  t.match(services.redis?.image, /^redis:/)
  t.match(services['target-db']?.image, /^postgres:/)
  for (const [name, service] of Object.entries(services)) {
    if (service.build !== undefined) t.ok(existsSync(path.join(PROJECT_ROOT, service.build, 'Dockerfile')), `${name} builds from a folder with a Dockerfile`)
    for (const volume of service.volumes ?? []) {
      const source = volume.split(':')[0] as string
      if (source.startsWith('.') || source.startsWith('/')) t.ok(existsSync(path.join(PROJECT_ROOT, source)), `${name} mounts ${source}, which exists`)
    }
  }
  // Every variable the example config names is set for the deployer containers.
  const config = parseYaml(readFileSync(path.join(PROJECT_ROOT, 'migration-deployer.yaml'), 'utf8')) as { environments: Record<string, { database_url_env: string }> }
  for (const name of [...commands('serve'), ...commands('worker')]) {
    const env = services[name]?.environment ?? {}
    for (const variable of ['DATABASE_URL', 'REDIS_URL', ...Object.values(config.environments).map((e) => e.database_url_env)]) t.ok(env[variable], `${name} sets ${variable}`)
  }

  const dockerCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' })
  if (dockerCompose.error !== undefined) {
    t.comment('docker-compose is not installed (apt-get install -y docker-compose): its full parse is left out')
    return
  }
  const parsed = spawnSync('docker-compose', ['-f', file, 'config', '-q'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
  t.equal(parsed.status, 0, `docker-compose config: ${parsed.stderr}`)
})
