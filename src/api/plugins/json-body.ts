import fp from 'fastify-plugin'
import { BadRequestError } from '../../errors/index.js'
import { jsonNestsDeeperThan } from '../../lib/json-depth.js'

/**
 * JSON bodies, parsed by Fastify's own parser (prototype-poisoning protection included) only after
 * a cheap scan of the raw text: a body nesting arrays or objects deeper than `limits.json_depth`
 * is refused with a 400 before `JSON.parse` spends time on it (no request of this API nests
 * deeper than 5 levels).
 */
export default fp(async function jsonBodyPlugin (app) {
  const maxDepth = app.services.config.limits.json_depth
  const parseJson = app.getDefaultJsonParser(app.initialConfig.onProtoPoisoning ?? 'error', app.initialConfig.onConstructorPoisoning ?? 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonNestsDeeperThan(body as string, maxDepth)) {
      done(new BadRequestError(`request body nests arrays and objects more than ${maxDepth} levels deep (limits.json_depth); send a flat JSON object such as {"environment": "staging", "migrations": [{"name": "…", "sql": "…"}]}`, { max_depth: maxDepth }, 'JSON_TOO_DEEP'), undefined)
      return
    }
    parseJson(request, body as string, done)
  })
}, { name: 'json-body' })
