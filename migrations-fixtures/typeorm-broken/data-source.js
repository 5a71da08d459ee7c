// typeorm-app's DataSource settings (URL from DATABASE_URL) over this project's migrations,
// the second of which fails (see ../README.md).
const path = require('node:path')
const { DataSource } = require('typeorm')
const { options } = require('../typeorm-app/data-source.js')

module.exports = new DataSource({ ...options, migrations: [path.join(__dirname, 'migrations', '*.js')] })
