/**
 * Where a principal's identity was proved, recorded with every event it causes (SPEC §13: "the
 * audit records issuer, subject and principal"). Static tokens have none: their name is all.
 */
export interface ActorIdentity {
  /** `oidc`: a CI job's token; `sso`: a person signed in to the review page. */
  method: 'oidc' | 'sso'
  /** The token's `iss`, exactly as configured. */
  issuer: string
  /** The token's `sub`. */
  subject: string
  /** The `auth.oidc` entry that verified it (oidc only). */
  provider?: string
  /** The person behind it: a person's SSO name, or what a CI rule's `person` template names (the `actor` claim). */
  person?: string
  /**
   * The roles it held in the deployment's environment when it requested (recorded on a
   * deployment only): an OIDC or SSO principal is in no config list, so auto-approval reads them here.
   */
  roles?: string[]
}

/** Something that acts or acted: a principal, or the requester a deployment recorded. */
export interface Actor {
  name: string
  identity?: ActorIdentity | null | undefined
}
