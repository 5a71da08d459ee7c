CREATE INDEX "gadgets_label_idx" ON "gadgets" ("label");
