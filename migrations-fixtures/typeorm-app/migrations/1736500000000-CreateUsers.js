/** The first migration: users. */
module.exports = class CreateUsers1736500000000 {
  name = 'CreateUsers1736500000000'

  async up (queryRunner) {
    await queryRunner.query('CREATE TABLE "users" ("id" SERIAL PRIMARY KEY, "email" text NOT NULL UNIQUE, "created_at" timestamptz NOT NULL DEFAULT now())')
  }

  async down (queryRunner) {
    await queryRunner.query('DROP TABLE "users"')
  }
}
