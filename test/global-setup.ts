import { join } from 'node:path';
import { runMigrations } from '@chat/db';
import { startInfra } from '@chat/testkit';

/** The services that own a Postgres schema, with their migrations folder. */
export const ownedSchemas: Array<{ schema: string; folder: string }> = [
  { schema: 'accounts', folder: join(__dirname, '..', 'services', 'accounts', 'drizzle') },
  { schema: 'persistence', folder: join(__dirname, '..', 'services', 'persistence', 'drizzle') },
];

export default async function globalSetup(): Promise<void> {
  const { existsSync } = await import('node:fs');
  const infra = await startInfra(async (url) => {
    for (const { schema, folder } of ownedSchemas) {
      if (existsSync(join(folder, 'meta', '_journal.json'))) await runMigrations(url, folder, schema);
    }
  });
  Object.assign(process.env, infra.env);
  (globalThis as { __chatInfra?: typeof infra }).__chatInfra = infra;
}
