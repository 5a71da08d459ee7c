import ipaddr from 'ipaddr.js'

// How each of ipaddr.js's ranges reads in a message; any range but `unicast` is not public.
const RANGE_NAMES: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  linkLocal: 'a link-local address (cloud metadata services live there)',
  uniqueLocal: 'a private (unique local) address',
  carrierGradeNat: 'a carrier-grade NAT address',
  unspecified: 'the unspecified address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address'
}

/**
 * Why `address` (an IPv4 or IPv6 literal) is not a public unicast address, e.g. `a loopback
 * address`, or undefined when it is public. IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is judged as
 * the IPv4 address it maps; the IPv6 forms that embed an IPv4 address for translators (NAT64,
 * 6to4, Teredo) are not public either, since they can reach private IPv4 networks.
 * Undefined for a string that is not an IP address at all.
 */
export function nonPublicAddressReason (address: string): string | undefined {
  if (!ipaddr.isValid(address)) return undefined
  const range = ipaddr.process(address).range()
  if (range === 'unicast') return undefined
  return RANGE_NAMES[range] ?? `a reserved address (${range})`
}

/** A URL host names the machine itself without DNS: `localhost` and `*.localhost` (RFC 6761). */
export function isLocalhostName (hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '')
  return name === 'localhost' || name.endsWith('.localhost')
}

/** Why a URL's host (as `new URL().hostname` gives it, IPv6 in brackets) is not public, judged without DNS. */
export function nonPublicHostReason (hostname: string): string | undefined {
  if (isLocalhostName(hostname)) return 'a name for the machine itself (localhost)'
  return nonPublicAddressReason(hostname.replace(/^\[(.*)\]$/, '$1'))
}
