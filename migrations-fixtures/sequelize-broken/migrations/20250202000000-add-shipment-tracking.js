'use strict'

/**
 * Fails midway: the first query commits (sequelize-cli runs no transaction), the second refers to
 * a table that does not exist. The tracking_events table stays behind unless a backup is restored.
 */
module.exports = {
  async up (queryInterface) {
    await queryInterface.sequelize.query('CREATE TABLE "tracking_events" ("id" serial PRIMARY KEY, "shipment_id" integer NOT NULL)')
    await queryInterface.sequelize.query('ALTER TABLE "shipment_labels" ADD COLUMN "tracking_code" text')
  },

  async down (queryInterface) {
    await queryInterface.dropTable('tracking_events')
  }
}
