import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { polishOpenApi } from '../openapi-polish.js'

/** OpenAPI generated from the routes' zod schemas, served at /openapi.json, with a docs UI at /docs. */
export default fp(async function swaggerPlugin (app) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'migration-deployer',
        version: '0.1.0',
        description: 'Deploys database migrations to environments safely: plan, approve, back up, apply, verify. Every route but the health probes, the docs and the sign-in routes needs `Authorization: Bearer <token>` (a static token or a CI job\'s OIDC token) or a signed-in SSO session; errors are `{"error": {"code", "message", "details"}}`.',
        license: { name: 'MIT', identifier: 'MIT' }
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            description: 'A token from the server\'s config (auth.tokens), or a CI job\'s OIDC token from an issuer in auth.oidc'
          },
          sessionCookie: {
            type: 'apiKey',
            in: 'cookie',
            name: 'md_session',
            description: 'A person\'s SSO session on the review page (`__Host-md_session` behind https); ' +
              'its state-changing requests also need the X-CSRF-Token header'
          }
        }
      },
      security: [{ bearerAuth: [] }, { sessionCookie: [] }],
      tags: [
        { name: 'deployments', description: 'Create, follow, approve and cancel deployments' },
        { name: 'environments', description: 'Configured environments' },
        { name: 'auth', description: 'Who is calling: static tokens, CI jobs\' OIDC tokens, people\'s SSO sessions' },
        { name: 'operations', description: 'Health, readiness and metrics' }
      ]
    },
    transform: jsonSchemaTransform,
    transformObject: (input) => polishOpenApi(jsonSchemaTransformObject(input))
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'swagger' })
