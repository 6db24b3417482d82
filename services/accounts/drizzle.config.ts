import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/db/schema.ts', './src/db/e2e.schema.ts'],
  out: './drizzle',
  schemaFilter: ['accounts'],
});
