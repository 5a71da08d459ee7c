/** A valid migration: invoices. */
module.exports = class CreateInvoices1737000000000 {
  name = 'CreateInvoices1737000000000'

  async up (queryRunner) {
    await queryRunner.query('CREATE TABLE "invoices" ("id" SERIAL PRIMARY KEY, "total_cents" integer NOT NULL)')
  }

  async down (queryRunner) {
    await queryRunner.query('DROP TABLE "invoices"')
  }
}
