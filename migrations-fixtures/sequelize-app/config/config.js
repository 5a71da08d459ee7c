// sequelize-cli's config: the URL comes from the DATABASE_URL environment variable
// (`use_env_variable`), never from this file or the command line.
const base = { use_env_variable: 'DATABASE_URL', dialect: 'postgres', logging: false }

module.exports = { development: base, test: base, production: base }
