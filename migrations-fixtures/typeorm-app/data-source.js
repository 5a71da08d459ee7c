// The DataSource the TypeORM CLI loads (`typeorm migration:run -d data-source.js`).
// The URL comes from the environment, never from this file or the command line.
const path = require('node:path')
const { DataSource } = require('typeorm')

module.exports = new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL,
  migrations: [path.join(__dirname, 'migrations', '*.js')],
  migrationsTableName: 'typeorm_migrations',
  logging: ['error']
})
