import dns from 'node:dns'
import type { LookupFunction } from 'node:net'
import { nonPublicAddressReason } from '../lib/public-address.js'

/** A webhook's host is, or resolved to, an address webhooks may not call (see allow_private_addresses). */
export class WebhookAddressRefusedError extends Error {
  readonly code = 'WEBHOOK_ADDRESS_REFUSED'
  constructor (hostname: string, address: string, reason: string) {
    super(`${hostname === address ? address : `${hostname} resolves to ${address}, which`} is ${reason}: refused; set allow_private_addresses: true on the webhook to allow it`)
  }
}

type Resolve = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void
) => void

/**
 * A `lookup` for `http.request` that resolves the host, refuses it when any address it resolves
 * to is not public, and hands the socket exactly the addresses it checked: the connection goes to
 * a checked address, so a DNS answer that changes between a check and the connect (DNS
 * rebinding) cannot slip through. `resolve` is the resolver (dns.lookup; tests pass their own).
 */
export function guardedLookup (resolve: Resolve = dns.lookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) {
        callback(error, '', 0)
        return
      }
      for (const { address } of addresses) {
        const reason = nonPublicAddressReason(address)
        if (reason !== undefined) {
          callback(new WebhookAddressRefusedError(hostname, address, reason), '', 0)
          return
        }
      }
      const [first] = addresses
      if (options.all === true) callback(null, addresses)
      else if (first === undefined) callback(Object.assign(new Error(`${hostname} resolved to no address`), { code: 'ENOTFOUND' }), '', 0)
      else callback(null, first.address, first.family)
    })
  }
}
