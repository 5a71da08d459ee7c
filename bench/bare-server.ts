import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

/**
 * The polling benchmark's reference: a bare Fastify route returning the bytes of a real
 * `GET /deployments/:id` response from memory, with no auth, database or serialization.
 * Usage: node --import tsx bench/bare-server.ts <body file> <port>
 */
const [bodyFile, port] = process.argv.slice(2)
if (bodyFile === undefined || port === undefined) throw new Error('usage: bare-server.ts <body file> <port>')
const body = readFileSync(bodyFile)
const app = Fastify()
app.get('/deployments/:id', async (_request, reply) => await reply.type('application/json; charset=utf-8').send(body))
await app.listen({ host: '127.0.0.1', port: Number(port) })
console.log(`bare server listening on ${port}`)
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
