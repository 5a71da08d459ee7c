/** Posts belong to users. */
module.exports = class AddPosts1736600000000 {
  name = 'AddPosts1736600000000'

  async up (queryRunner) {
    await queryRunner.query('CREATE TABLE "posts" ("id" SERIAL PRIMARY KEY, "user_id" integer NOT NULL REFERENCES "users"("id"), "title" text NOT NULL)')
    await queryRunner.query('CREATE INDEX "posts_user_id_idx" ON "posts" ("user_id")')
  }

  async down (queryRunner) {
    await queryRunner.query('DROP TABLE "posts"')
  }
}
