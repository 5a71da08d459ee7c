import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { NotFoundError } from '../../errors/index.js'
import { errorBodySchema } from '../../schemas/common.js'

/** The review page's files: `ui/` at the package root (beside `src/` and `dist/`, so both find it). */
export const UI_DIR = fileURLToPath(new URL('../../../ui/', import.meta.url))

/**
 * The page may load only its own files and talk only to this origin; nothing inline, no
 * framing, no forms that navigate. The token it holds can therefore not leak to another origin.
 */
export const UI_CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml'
}

interface UiFile { body: Buffer, contentType: string, etag: string }

/** Reads the page's files once: the set is fixed at start, so no request can name any other file. */
function loadUiFiles (dir: string): Map<string, UiFile> {
  const files = new Map<string, UiFile>()
  for (const name of readdirSync(dir)) {
    const contentType = CONTENT_TYPES[path.extname(name)]
    if (contentType === undefined) continue
    const body = readFileSync(path.join(dir, name))
    files.set(name, { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` })
  }
  return files
}

async function sendUiFile (request: FastifyRequest, reply: FastifyReply, file: UiFile): Promise<FastifyReply> {
  reply
    .header('content-security-policy', UI_CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cache-control', 'no-cache')
    .header('etag', file.etag)
  if (request.headers['if-none-match'] === file.etag) return await reply.code(304).send()
  return await reply.type(file.contentType).send(file.body)
}

/** `GET /ui`: the release manager's review page, static files that talk to the public API. */
const uiRoutes: FastifyPluginAsyncZod = async (app) => {
  const files = loadUiFiles(UI_DIR)
  const index = files.get('index.html')
  if (index === undefined) throw new Error(`the review page is missing: no index.html in ${UI_DIR}`)

  // The page itself carries no data and so needs no token (a browser cannot send one when
  // navigating); everything it shows comes from the authenticated API.
  const pageSchema = { hide: true, response: { 200: z.string(), 304: z.null() } }
  app.get('/ui', { schema: pageSchema }, async (request, reply) => await sendUiFile(request, reply, index))
  app.get('/ui/', { schema: pageSchema }, async (request, reply) => await sendUiFile(request, reply, index))

  app.get('/ui/:file', {
    schema: { hide: true, params: z.object({ file: z.string().max(100) }), response: { 200: z.string(), 304: z.null(), 404: errorBodySchema } }
  }, async (request, reply) => {
    const file = files.get(request.params.file)
    if (file === undefined || request.params.file === 'index.html') throw new NotFoundError(`no file ${request.params.file} in the review page; open /ui`)
    return await sendUiFile(request, reply, file)
  })
}

export default uiRoutes
