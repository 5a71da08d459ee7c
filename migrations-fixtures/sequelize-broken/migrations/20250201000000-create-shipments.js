'use strict'

/** A valid migration: shipments. */
module.exports = {
  async up (queryInterface, Sequelize) {
    await queryInterface.createTable('shipments', {
      id: { type: Sequelize.INTEGER, autoIncrement: true, primaryKey: true },
      carrier: { type: Sequelize.TEXT, allowNull: false }
    })
  },

  async down (queryInterface) {
    await queryInterface.dropTable('shipments')
  }
}
