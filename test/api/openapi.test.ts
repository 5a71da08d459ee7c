import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { generateOpenApiDocument, serializeOpenApi } from '../../src/openapi-document.js'
import { PROJECT_ROOT } from '../helpers/harness.js'

const COMMITTED = path.join(PROJECT_ROOT, 'openapi/openapi.json')
const METHODS = ['get', 'post', 'put', 'patch', 'delete']
type Json = Record<string, any>

t.test('the committed openapi/openapi.json is exactly what the code generates', async (t) => {
  const generated = serializeOpenApi(await generateOpenApiDocument())
  const committed = readFileSync(COMMITTED, 'utf8')
  t.ok(generated === committed, 'openapi/openapi.json is out of date: run `npm run openapi` and commit the result')
  if (generated !== committed) t.same(JSON.parse(committed), JSON.parse(generated), 'the difference')
})

t.test('every route documents its request, its responses and its errors, with examples', async (t) => {
  const document = JSON.parse(readFileSync(COMMITTED, 'utf8')) as Json
  const operations: Array<[string, Json]> = []
  for (const [route, item] of Object.entries(document.paths as Json)) {
    for (const method of METHODS) if (item[method] !== undefined) operations.push([`${method.toUpperCase()} ${route}`, item[method]])
  }
  t.ok(operations.length >= 14, `${operations.length} operations`)
  const ids = new Set<string>()
  for (const [name, operation] of operations) {
    t.ok(operation.operationId, `${name} has an operationId`)
    t.notOk(ids.has(operation.operationId), `${name}: its operationId is unique`)
    ids.add(operation.operationId)
    t.ok(operation.summary, `${name} has a summary`)
    const responses = operation.responses as Json
    const success = Object.keys(responses).filter((code) => code.startsWith('2'))
    t.ok(success.length > 0, `${name} documents a success response`)
    for (const code of success) t.ok(Object.values(responses[code].content ?? {}).every((media: any) => media.schema !== undefined), `${name} ${code} has a schema`)
    if (operation.requestBody !== undefined) t.ok(operation.requestBody.content['application/json'].schema, `${name} has a request body schema`)
    const open = Array.isArray(operation.security) && operation.security.length === 0
    if (!open) t.ok(responses['401'] !== undefined && responses['403'] !== undefined, `${name} documents 401 and 403`)
    for (const [code, response] of Object.entries(responses) as Array<[string, Json]>) {
      t.not(response.description, 'Default Response', `${name} ${code} has a description`)
      const media = Object.entries(response.content ?? {}) as Array<[string, Json]>
      if (Number(code) >= 400 && media.some(([, m]) => m.schema?.$ref === '#/components/schemas/Error')) {
        t.same(media.map(([type]) => type), ['application/json'], `${name} ${code}: errors are JSON`)
        t.ok(response.content['application/json'].example?.error?.code, `${name} ${code} has an error example`)
      }
    }
  }
  const schemas = document.components.schemas as Json
  for (const name of ['Deployment', 'DeploymentList', 'DeploymentEventList', 'Environment', 'EnvironmentStatus', 'CreateDeploymentInput']) {
    t.ok(schemas[name]?.example, `${name} has an example`)
  }
  const events = document.paths['/deployments/{id}/events'].get
  t.ok(events.responses['200'].content['text/event-stream'], 'the events route documents its Server-Sent Events form')
  t.ok(events.parameters.some((p: Json) => p.in === 'header' && p.name === 'last-event-id'), 'and Last-Event-ID')
  t.ok(document.paths['/deployments/{id}'].get.responses['304'], 'GET /deployments/:id documents 304')
})

// Client generators name their methods after these: they never change once shipped.
const OPERATION_IDS: Record<string, string> = {
  'GET /healthz': 'getLiveness',
  'GET /readyz': 'getReadiness',
  'GET /metrics': 'getMetrics',
  'GET /me': 'getMe',
  'GET /auth/session': 'getSession',
  'POST /auth/logout': 'signOut',
  'GET /environments': 'listEnvironments',
  'GET /environments/:name/status': 'getEnvironmentStatus',
  'GET /environments/:name/drift': 'getEnvironmentDrift',
  'GET /environments/:name/backups': 'listEnvironmentBackups',
  'POST /environments/:name/migrations/:migration/resolve': 'resolveMigration',
  'POST /deployments': 'createDeployment',
  'GET /deployments': 'listDeployments',
  'GET /deployments/:id': 'getDeployment',
  'POST /deployments/:id/approve': 'approveDeployment',
  'POST /deployments/:id/reject': 'rejectDeployment',
  'POST /deployments/:id/cancel': 'cancelDeployment',
  'GET /deployments/:id/log': 'getDeploymentLog',
  'GET /deployments/:id/targets': 'listDeploymentTargets',
  'POST /deployments/:id/retry': 'retryDeployment',
  'POST /deployments/:id/override-window': 'overrideDeploymentWindow',
  'GET /deployments/:id/events': 'followDeploymentEvents'
}

t.test('every documented route declares its own stable operationId in its schema', async (t) => {
  const declared: Record<string, unknown> = {}
  const document = await generateOpenApiDocument({
    onRoute: (route) => {
      const schema = route.schema as { hide?: boolean, operationId?: unknown } | undefined
      // HEAD twins of GET routes and hidden routes (the page's files, /docs) are not API operations.
      if (schema?.hide === true || route.method === 'HEAD' || route.url.startsWith('/docs')) return
      declared[`${String(route.method)} ${route.url}`] = schema?.operationId
    }
  }) as Json
  t.same(declared, OPERATION_IDS, 'each route\'s schema names the operationId it has always had')
  const documented: Record<string, unknown> = {}
  for (const [route, item] of Object.entries(document.paths as Json)) {
    const url = route.replace(/\{(\w+)\}/g, ':$1')
    for (const method of METHODS) if (item[method] !== undefined) documented[`${method.toUpperCase()} ${url}`] = item[method].operationId
  }
  t.same(documented, OPERATION_IDS, 'and the document carries exactly those')
})

t.test('redocly lint (@redocly/cli) finds no errors and no warnings', async (t) => {
  const bin = path.join(PROJECT_ROOT, 'node_modules/.bin/redocly')
  const result = spawnSync(bin, ['lint', COMMITTED, '--config', path.join(PROJECT_ROOT, 'redocly.yaml'), '--format=json'], { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } })
  t.equal(result.status, 0, result.stderr)
  const report = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as { totals: { errors: number, warnings: number }, problems: unknown[] }
  t.equal(report.totals.errors, 0, JSON.stringify(report.problems, null, 2))
  t.equal(report.totals.warnings, 0, JSON.stringify(report.problems, null, 2))
})
