import { createEmptyDatabase, queryDatabase } from './databases.js'
import { migration } from './tenant-databases.js'

// What the fleet tests share (SPEC §14): three migrations, a fleet environment read from a catalog
// query and a URL template, and the catalog database itself.
export const M1 = migration('20250101000000_init', 'CREATE TABLE accounts (id serial PRIMARY KEY, name text NOT NULL);\n')
export const M2 = migration('20250102000000_email', 'ALTER TABLE accounts ADD COLUMN email text;\n')
export const M3 = migration('20250103000000_orders', 'CREATE TABLE orders (id serial PRIMARY KEY, account_id int REFERENCES accounts (id));\n')
export const ALL = [M1, M2, M3]
/** A deployment request carrying the three migrations inline. */
export const body = (environment: string): Record<string, unknown> => ({ environment, migrations: ALL.map(({ name, sql }) => ({ name, sql })) })

/** An environment whose targets are the active tenants of `fleet` in the catalog. */
export function fleetEnvironment (fleet: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    database_url_env: undefined,
    targets: { catalog_url_env: 'FLEET_CATALOG_URL', names_query: `SELECT slug FROM tenants WHERE fleet = '${fleet}' AND active`, url_template_env: 'FLEET_TENANT_URL' },
    // One connection per check: connectivity is what a fleet's per-target check needs in a test.
    health_check: { checks: ['connectivity'], timeout: '5s' },
    backup_before_migrate: false,
    ...extra
  }
}

/** The catalog database: a tenants table listing each fleet's databases (and an inactive one in `inactiveIn`). */
export async function createCatalog (fleets: Record<string, string[]>, inactiveIn: string[]): Promise<string> {
  const name = await createEmptyDatabase('md_catalog')
  await queryDatabase(name, 'CREATE TABLE tenants (slug text PRIMARY KEY, fleet text NOT NULL, active boolean NOT NULL DEFAULT true)')
  for (const [fleet, names] of Object.entries(fleets)) await queryDatabase(name, 'INSERT INTO tenants (slug, fleet) SELECT unnest($1::text[]), $2', [names, fleet])
  for (const fleet of inactiveIn) await queryDatabase(name, "INSERT INTO tenants (slug, fleet, active) VALUES ('md_inactive_tenant', $1, false)", [fleet])
  return name
}
