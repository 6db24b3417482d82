import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/repositories/schema.ts', './src/repositories/e2e.schema.ts'],
  out: './drizzle',
  schemaFilter: ['accounts'],
});
