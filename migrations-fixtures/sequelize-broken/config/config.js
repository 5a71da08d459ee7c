// sequelize-cli's config for the failing project: the URL comes from DATABASE_URL.
module.exports = { development: { use_env_variable: 'DATABASE_URL', dialect: 'postgres', logging: false } }
