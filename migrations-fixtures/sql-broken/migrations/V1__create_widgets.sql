CREATE TABLE "widgets" (
    "id" BIGSERIAL PRIMARY KEY,
    "name" TEXT NOT NULL
);
