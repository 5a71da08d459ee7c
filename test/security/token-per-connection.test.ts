import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { startHarness, tokenOf } from '../helpers/harness.js'

// Requests on ONE keep-alive connection, with different tokens one after another: each answer
// shows the check tells them apart (an OIDC token verified on a connection is remembered there;
// a token of the same length, a longer one or none must never be taken for what came before).

t.test('one keep-alive connection, several tokens: each request is answered as its own token', async (t) => {
  const h = await startHarness({ worker: false })
  t.teardown(h.close)
  await h.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = h.app.server.address() as AddressInfo
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  const sockets = new Set<unknown>()

  const me = async (authorization: string | undefined): Promise<{ status: number, name?: string }> => await new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/me', agent, headers: authorization === undefined ? {} : { authorization } }, (response) => {
      sockets.add(response.socket)
      let body = ''
      response.on('data', (chunk: Buffer) => { body += chunk.toString() })
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, name: (JSON.parse(body) as { name?: string }).name }) })
    })
    request.on('error', reject)
  })

  const answers = []
  for (const authorization of [`Bearer ${tokenOf('viewer')}`, `Bearer ${tokenOf('viewer')}`, `Bearer ${tokenOf('alice')}`, 'Bearer viewer-tokeX', `Bearer ${tokenOf('viewer')}x`, undefined, `Bearer ${tokenOf('viewer')}`, `Bearer ${tokenOf('admin')}`]) {
    answers.push(await me(authorization))
  }
  t.equal(sockets.size, 1, 'every request went over the same connection')
  t.same(answers, [
    { status: 200, name: 'viewer' },
    { status: 200, name: 'viewer' },
    { status: 200, name: 'alice' },
    { status: 401, name: undefined },
    { status: 401, name: undefined },
    { status: 401, name: undefined },
    { status: 200, name: 'viewer' },
    { status: 200, name: 'admin' }
  ], 'a token of the same length as the proven one, or longer, or none at all, is not taken for it')
})
