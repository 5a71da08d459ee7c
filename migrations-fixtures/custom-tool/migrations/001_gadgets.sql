CREATE TABLE "gadgets" ("id" serial PRIMARY KEY, "label" text NOT NULL);
