import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { ROLES } from '../../domain/index.js'
import { authErrors } from '../../schemas/common.js'
import { principalOf } from '../plugins/auth.js'

const meSchema = z.object({
  name: z.string().meta({ example: 'alice' }),
  roles: z.array(z.enum(ROLES)).meta({ example: ['approver'] })
}).meta({ id: 'Me', description: 'The principal the bearer token stands for' })

/**
 * `GET /me`: who the bearer token is. Clients (the review page, the CLI) use it to say who is
 * signed in and which actions to offer; it reveals nothing the token's holder does not know.
 */
const meRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/me', {
    // Every configured token has at least one role, and admin has all: any valid token passes.
    onRequest: app.requireRole('viewer', 'deployer', 'approver'),
    schema: { operationId: 'getMe', tags: ['auth'], summary: 'The name and roles of the bearer token', response: { 200: meSchema, ...authErrors } }
  }, async (request) => {
    const principal = principalOf(request)
    return { name: principal.name, roles: [...principal.roles] }
  })
}

export default meRoutes
