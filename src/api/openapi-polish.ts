/**
 * Finishing touches on the generated OpenAPI document, so it reads well and lints clean:
 * response descriptions and error examples by status, the Server-Sent Events media type, and
 * no component nobody references.
 */

import { COMPONENT_EXAMPLES } from './openapi-examples.js'

type Json = Record<string, unknown>

const DESCRIPTIONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: recorded and queued',
  304: 'Not modified',
  400: 'Invalid request: the message says what to fix',
  401: 'No valid bearer token',
  403: 'The token lacks the role (or the person the right) for this action',
  404: 'Not found',
  409: 'Conflicts with the current state',
  410: 'Gone: the approval window closed',
  413: 'Request body larger than the server\'s limit',
  415: 'Unsupported content type',
  429: 'Too many requests for this token: retry after the Retry-After header',
  503: 'A dependency (control database, queue or target database) is unavailable'
}

const ERROR_EXAMPLES: Record<string, { code: string, message: string }> = {
  400: { code: 'VALIDATION_FAILED', message: 'invalid request: body.environment: environment is required: the name of a configured environment, e.g. "staging"' },
  401: { code: 'UNAUTHORIZED', message: 'the bearer token is not valid: check DEPLOYER_TOKEN or ask an operator for a token' },
  403: { code: 'FORBIDDEN', message: 'viewer lacks the role for this action: needs one of deployer, admin' },
  404: { code: 'NOT_FOUND', message: 'deployment dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6 not found' },
  409: { code: 'NOT_PENDING_APPROVAL', message: 'deployment dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6 is succeeded, not pending_approval' },
  410: { code: 'GONE', message: 'deployment dep_01JH7Z0A8Q9YB4W1D2K3M4N5P6 expired without enough approvals; create a new deployment' },
  413: { code: 'PAYLOAD_TOO_LARGE', message: 'request body is larger than the server\'s limit of 5242880 bytes' },
  415: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'unsupported content-type: send JSON with "Content-Type: application/json"' },
  429: { code: 'RATE_LIMITED', message: 'too many requests for token ci-bot: at most 600 per 60s; retry in 12s (see the Retry-After header)' },
  503: { code: 'SERVICE_UNAVAILABLE', message: 'a dependency (control database or queue) is unavailable; retry shortly' }
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options']

// Operation ids are not made up here: each route declares its own `operationId` in its schema.
function polishOperation (operation: Json): void {
  const stream = operation['x-event-stream'] as { description: string, example: string } | undefined
  delete operation['x-event-stream']
  const responses = (operation.responses ?? {}) as Record<string, Json>
  for (const [status, response] of Object.entries(responses)) {
    if (response.description === 'Default Response') response.description = DESCRIPTIONS[status] ?? 'Response'
    const content = response.content as Record<string, Json> | undefined
    const media = Object.values(content ?? {})[0]
    // Errors are always JSON, whatever the route produces when it succeeds (text/plain for the log).
    if (media !== undefined && (media.schema as Json | undefined)?.$ref === '#/components/schemas/Error') {
      response.content = { 'application/json': { schema: media.schema, ...(ERROR_EXAMPLES[status] === undefined ? {} : { example: { error: ERROR_EXAMPLES[status] } }) } }
    }
  }
  if (stream !== undefined && responses['200'] !== undefined) {
    const ok = responses['200']
    ok.description = 'The events: JSON by default, a live Server-Sent Events stream with `Accept: text/event-stream`'
    ok.content = { ...(ok.content as Json), 'text/event-stream': { schema: { type: 'string', description: stream.description }, example: stream.example } }
  }
}

/** Removes component schemas that nothing references (zod registers an input and an output twin of each). */
function pruneUnusedSchemas (document: Json): void {
  const components = document.components as { schemas?: Record<string, unknown> } | undefined
  const schemas = components?.schemas
  if (schemas === undefined) return
  for (;;) {
    const text = JSON.stringify({ ...document, components: { ...components, schemas: {} } }) + JSON.stringify(schemas)
    const unused = Object.keys(schemas).filter((name) => {
      const reference = `"#/components/schemas/${name}"`
      const own = JSON.stringify(schemas[name]).split(reference).length - 1
      return text.split(reference).length - 1 - own === 0
    })
    if (unused.length === 0) return
    for (const name of unused) delete schemas[name]
  }
}

/** Applies the finishing touches in place and returns the document. */
export function polishOpenApi<T extends object> (document: T): T {
  const paths = (document as Json).paths as Record<string, Json> | undefined
  for (const item of Object.values(paths ?? {})) {
    for (const method of METHODS) {
      const operation = item[method] as Json | undefined
      if (operation !== undefined) polishOperation(operation)
    }
  }
  pruneUnusedSchemas(document as Json)
  const schemas = ((document as Json).components as { schemas?: Record<string, Json> } | undefined)?.schemas ?? {}
  // zod stamps each component with its own $id and $schema: in a document they make every $ref
  // inside resolve against the component instead of the document, and they say nothing new.
  for (const schema of Object.values(schemas)) {
    delete schema.$id
    delete schema.$schema
  }
  for (const [name, example] of Object.entries(COMPONENT_EXAMPLES)) {
    const schema = schemas[name]
    if (schema !== undefined && schema.example === undefined) schema.example = example
  }
  return document
}
