import http from 'node:http'
import https from 'node:https'
import { nonPublicAddressReason } from '../lib/public-address.js'
import { guardedLookup, WebhookAddressRefusedError } from './guarded-lookup.js'

export interface WebhookPost {
  url: string
  headers: Record<string, string>
  body: string
  timeoutMs: number
  /** The webhook's allow_private_addresses: skip the address checks. */
  allowPrivateAddresses: boolean
}

const lookup = guardedLookup()

/**
 * POSTs a webhook body and resolves with the receiver's status code (redirects are not followed;
 * the response body is discarded). Unless `allowPrivateAddresses`, the connection only goes to a
 * public address: an IP literal is checked here, a name where it is resolved (guardedLookup).
 * Rejects with WebhookAddressRefusedError for a refused address, an AbortError after `timeoutMs`.
 */
export async function postWebhook (post: WebhookPost): Promise<number> {
  const url = new URL(post.url)
  const literal = url.hostname.replace(/^\[(.*)\]$/, '$1')
  const reason = post.allowPrivateAddresses ? undefined : nonPublicAddressReason(literal)
  if (reason !== undefined) throw new WebhookAddressRefusedError(literal, literal, reason)
  const request = url.protocol === 'https:' ? https.request : http.request
  return await new Promise<number>((resolve, reject) => {
    const outgoing = request(url, {
      method: 'POST',
      headers: { ...post.headers, 'content-length': String(Buffer.byteLength(post.body)) },
      signal: AbortSignal.timeout(post.timeoutMs),
      ...(post.allowPrivateAddresses ? {} : { lookup })
    }, (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    outgoing.on('error', reject)
    outgoing.end(post.body)
  })
}
