/**
 * A claim pattern of an OIDC rule: an exact value, or a glob where `*` matches any run of
 * characters other than `/`, `**` any run at all, `?` one character other than `/`, and `\`
 * escapes the next character. So `org/*` is any repository of org and `refs/heads/release-*` a
 * branch name, never a deeper path; a subject pattern like `repo:org/app:**` needs `**` to reach
 * past the `/` in `ref:refs/heads/main`. (picomatch's `**` crosses `/` only as a whole path
 * segment, which claim values are not: hence these few lines rather than a path glob library.)
 */
export function compileClaimPattern (pattern: string): (value: string) => boolean {
  if (!/[*?\\]/.test(pattern)) return (value) => value === pattern
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string
    if (char === '\\' && i + 1 < pattern.length) {
      source += escapeRegExp(pattern[++i] as string)
    } else if (char === '*' && pattern[i + 1] === '*') {
      source += '.*'
      while (pattern[i + 1] === '*') i++
    } else if (char === '*') {
      source += '[^/]*'
    } else if (char === '?') {
      source += '[^/]'
    } else {
      source += escapeRegExp(char)
    }
  }
  const regexp = new RegExp(`^${source}$`, 's')
  return (value) => regexp.test(value)
}

/**
 * The claim's values as text: a string as it is, a number or boolean spelled out (GitLab sends
 * `ref_protected: "true"`, others a boolean), each element of an array; nothing for objects.
 */
export function claimValues (claim: unknown): string[] {
  if (typeof claim === 'string') return [claim]
  if (typeof claim === 'number' || typeof claim === 'boolean') return [String(claim)]
  if (Array.isArray(claim)) return claim.flatMap((item) => typeof item === 'object' ? [] : claimValues(item))
  return []
}

function escapeRegExp (char: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(char) ? `\\${char}` : char
}
