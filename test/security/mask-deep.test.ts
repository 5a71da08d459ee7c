import t from 'tap'
import { maskSecretsDeep, registerSecret } from '../../src/lib/mask-secrets.js'

t.test('maskSecretsDeep masks every string inside error details and event data', async (t) => {
  registerSecret('s3cr3t-deep-value')
  const date = new Date('2025-01-01T00:00:00Z')
  const masked = maskSecretsDeep({
    url: 'postgres://app:hunter22@db:5432/app',
    nested: [{ message: 'auth failed for s3cr3t-deep-value' }, 'password=abc123 next', 42, null, true],
    at: date
  })
  t.same(masked, {
    url: 'postgres://app:***@db:5432/app',
    nested: [{ message: 'auth failed for ***' }, 'password=*** next', 42, null, true],
    at: date
  })
  t.equal(masked.at, date, 'dates are kept as they are')
  t.equal(maskSecretsDeep(undefined), undefined)
  t.equal(maskSecretsDeep('plain'), 'plain')
})
