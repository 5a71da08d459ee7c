import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod'
import authPlugin from './api/plugins/auth.js'
import errorsPlugin from './api/plugins/errors.js'
import eventHubPlugin from './api/plugins/event-hub.js'
import jsonBodyPlugin from './api/plugins/json-body.js'
import metricsRoutes from './api/plugins/metrics.js'
import nulGuardPlugin from './api/plugins/nul-guard.js'
import rateLimitPlugin from './api/plugins/rate-limit.js'
import securityHeadersPlugin from './api/plugins/security-headers.js'
import sessionsPlugin from './api/plugins/sessions.js'
import swaggerPlugin from './api/plugins/swagger.js'
import deploymentRoutes from './api/routes/deployments/index.js'
import overrideWindowRoute from './api/routes/deployments/override-window.js'
import environmentRoutes from './api/routes/environments.js'
import environmentDriftRoute from './api/routes/environment-drift.js'
import healthRoutes from './api/routes/health.js'
import meRoutes from './api/routes/me.js'
import ssoRoutes from './api/routes/sso.js'
import uiRoutes from './api/routes/ui.js'
import type { ApiServices } from './api/services.js'
import './api/services.js'

/**
 * The root plugin: everything the API is, without listening. `server.ts` and the tests
 * register it on a Fastify instance they own.
 */
export default fp(async function app (instance: FastifyInstance, options: { services: ApiServices }) {
  instance.setValidatorCompiler(validatorCompiler)
  instance.setSerializerCompiler(serializerCompiler)
  instance.decorate('services', options.services)
  await instance.register(errorsPlugin)
  await instance.register(securityHeadersPlugin)
  await instance.register(jsonBodyPlugin)
  await instance.register(swaggerPlugin)
  await instance.register(sessionsPlugin)
  await instance.register(authPlugin)
  await instance.register(eventHubPlugin)
  await instance.register(rateLimitPlugin)
  await instance.register(nulGuardPlugin)
  await instance.register(healthRoutes)
  await instance.register(metricsRoutes)
  await instance.register(environmentRoutes)
  await instance.register(environmentDriftRoute)
  await instance.register(deploymentRoutes)
  await instance.register(overrideWindowRoute)
  await instance.register(meRoutes)
  await instance.register(ssoRoutes)
  await instance.register(uiRoutes)
}, { name: 'migration-deployer' })
