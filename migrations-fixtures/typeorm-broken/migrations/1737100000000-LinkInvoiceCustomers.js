/** Fails: adds a column, then references a table that does not exist. */
module.exports = class LinkInvoiceCustomers1737100000000 {
  name = 'LinkInvoiceCustomers1737100000000'

  async up (queryRunner) {
    await queryRunner.query('ALTER TABLE "invoices" ADD COLUMN "customer_id" integer')
    await queryRunner.query('ALTER TABLE "invoices" ADD CONSTRAINT "invoices_customer_fk" FOREIGN KEY ("customer_id") REFERENCES "invoice_customers"("id")')
  }

  async down (queryRunner) {
    await queryRunner.query('ALTER TABLE "invoices" DROP COLUMN "customer_id"')
  }
}
