import type { Actor } from '../domain/index.js'

export type { Actor, ActorIdentity } from '../domain/index.js'

/** The names an actor answers to as a person, lowercased (logins and e-mail addresses ignore case). */
function personNames (actor: Actor): Set<string> {
  const names = new Set([actor.name.toLowerCase()])
  if (actor.identity?.person !== undefined) names.add(actor.identity.person.toLowerCase())
  return names
}

/**
 * Whether two actors are the same person, across both worlds: a CI token whose rule names the
 * job's `actor` and that person's SSO session are; so are a static token and a session of one name.
 */
export function isSamePerson (a: Actor, b: Actor): boolean {
  const names = personNames(a)
  for (const name of personNames(b)) if (names.has(name)) return true
  return false
}
