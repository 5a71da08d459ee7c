// A TypeORM project whose second migration fails (see ../README.md).
const path = require('node:path')
const { DataSource } = require('typeorm')

module.exports = new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL,
  migrations: [path.join(__dirname, 'migrations', '*.js')],
  migrationsTableName: 'typeorm_migrations',
  logging: ['error']
})
