import type { AddressInfo } from 'node:net'
import type { Harness } from './harness.js'

/** Makes a harness's API listen on a free loopback port and returns its base URL. */
export async function listenOnLoopback (h: Harness): Promise<string> {
  await h.app.listen({ host: '127.0.0.1', port: 0 })
  const address = h.app.server.address() as AddressInfo
  return `http://127.0.0.1:${address.port}`
}
