'use strict'

/** Orders belong to customers; the index is created in the same migration. */
module.exports = {
  async up (queryInterface, Sequelize) {
    await queryInterface.createTable('orders', {
      id: { type: Sequelize.INTEGER, autoIncrement: true, primaryKey: true },
      customer_id: { type: Sequelize.INTEGER, allowNull: false, references: { model: 'customers', key: 'id' } },
      total_cents: { type: Sequelize.INTEGER, allowNull: false, defaultValue: 0 }
    })
    await queryInterface.addIndex('orders', ['customer_id'], { name: 'orders_customer_id_idx' })
  },

  async down (queryInterface) {
    await queryInterface.dropTable('orders')
  }
}
