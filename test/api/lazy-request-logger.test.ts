import Fastify, { type FastifyBaseLogger } from 'fastify'
import { pino } from 'pino'
import t from 'tap'
import { lazyRequestLoggers } from '../../src/api/lazy-request-logger.js'

/** A pino logger at `level` writing into an array, and a count of the children made of it. */
function capturing (level: string): { logger: FastifyBaseLogger, lines: Array<Record<string, unknown>>, children: () => number } {
  const lines: Array<Record<string, unknown>> = []
  const logger = pino({ level, timestamp: false, base: undefined }, { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } })
  let children = 0
  const child = logger.child.bind(logger)
  const counted = Object.assign(Object.create(logger) as typeof logger, {
    child: (...args: Parameters<typeof child>) => { children++; return child(...args) }
  })
  return { logger: counted as unknown as FastifyBaseLogger, lines, children: () => children }
}

t.test('writes exactly the lines a child logger would, and makes the child only for a line it writes', async (t) => {
  const lazy = capturing('info')
  const eager = capturing('info')
  const request = lazyRequestLoggers(lazy.logger, { reqId: 'req-7' }, {})
  const child = eager.logger.child({ reqId: 'req-7' }, {})
  for (const logger of [request, child]) {
    logger.debug('not at this level')
    logger.info({ deployment_id: 'dep_1' }, 'accepted')
    logger.error({ err: { message: 'boom' } }, 'request failed')
  }
  t.same(lazy.lines, eager.lines)
  t.same(lazy.lines.map((line) => [line.reqId, line.msg]), [['req-7', 'accepted'], ['req-7', 'request failed']])
  t.equal(lazy.children(), 1, 'one child, made by the first line written')

  const quiet = lazyRequestLoggers(lazy.logger, { reqId: 'req-8' }, {})
  quiet.debug('below the level')
  quiet.trace('below the level')
  t.equal(lazy.children(), 1, 'a request that logs nothing at an enabled level makes no child')
  t.equal(quiet.level, 'info')
})

t.test('a route\'s own level (the child options) decides what is written', async (t) => {
  const parent = capturing('info')
  const verbose = lazyRequestLoggers(parent.logger, { reqId: 'req-9' }, { level: 'debug' })
  verbose.debug('route logs at debug')
  verbose.trace('but not at trace')
  const terse = lazyRequestLoggers(parent.logger, { reqId: 'req-10' }, { level: 'error' })
  terse.warn('below the route\'s level')
  terse.error('at it')
  t.same(parent.lines.map((line) => [line.reqId, line.msg]), [['req-9', 'route logs at debug'], ['req-10', 'at it']])
  t.equal(verbose.level, 'debug')
})

t.test('as Fastify\'s childLoggerFactory: a route\'s request.log writes with the request id, a request that logs nothing makes no child', async (t) => {
  const parent = capturing('info')
  const app = Fastify({ loggerInstance: parent.logger, childLoggerFactory: lazyRequestLoggers, disableRequestLogging: true })
  app.get('/quiet', async () => ({ ok: true }))
  app.get('/noisy', async (request) => {
    request.log.info({ deployment_id: 'dep_2' }, 'handled')
    return { ok: true }
  })
  t.teardown(async () => { await app.close() })
  const childrenBefore = parent.children()
  t.equal((await app.inject({ method: 'GET', url: '/quiet' })).statusCode, 200)
  t.equal(parent.children(), childrenBefore, 'no child for a request that logs nothing')
  t.equal((await app.inject({ method: 'GET', url: '/noisy', headers: { 'request-id': 'x' } })).statusCode, 200)
  const handled = parent.lines.find((line) => line.msg === 'handled')
  t.match(handled, { reqId: /^req-/, deployment_id: 'dep_2', level: 30 })
})
