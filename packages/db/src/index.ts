import { Pool, type PoolConfig, type QueryConfig } from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { Logger } from '@chat/logger';

export type { NodePgDatabase };

export interface Database<S extends Record<string, unknown>> {
  pool: Pool;
  db: NodePgDatabase<S>;
  /** True when a trivial query answers within a second. */
  ping: () => Promise<boolean>;
  close: () => Promise<void>;
}

export function createDatabase<S extends Record<string, unknown>>(
  url: string,
  schema: S,
  logger: Logger,
  opts: PoolConfig = {},
): Database<S> {
  // A refused connection (the database down) fails at once whatever this says; the timeout only bounds a
  // slow handshake (SCRAM on a saturated machine took over 2 s in the container test and answered 503).
  const pool = new Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000, ...opts });
  // An idle client losing its server is reported here; without a listener it would crash the process.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'database connection lost'));
  const db = drizzle(pool, { schema });
  return {
    pool,
    db,
    ping: async () => {
      const c = await pool.connect();
      try {
        // query_timeout per query is honoured by pg but missing from its QueryConfig type.
        await c.query({ text: 'select 1', query_timeout: 1_000 } as QueryConfig);
        return true;
      } finally {
        c.release();
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Applies a service's drizzle migrations, recording them in its own schema. Several instances may start
 * at once: a session advisory lock per schema lets one migrate at a time (the others then find nothing
 * left to do).
 */
export async function runMigrations(url: string, migrationsFolder: string, schemaName: string): Promise<void> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    // max: 1, so the lock, the migration and the unlock share one session.
    await pool.query('select pg_advisory_lock(hashtext($1))', [`${schemaName}.migrations`]);
    await pool.query(`create schema if not exists "${schemaName}"`);
    await migrate(drizzle(pool), { migrationsFolder, migrationsSchema: schemaName, migrationsTable: '__migrations' });
    await pool.query('select pg_advisory_unlock(hashtext($1))', [`${schemaName}.migrations`]);
  } finally {
    await pool.end();
  }
}

/** Errors that mean "the database is not reachable right now": worth retrying, not dead-lettering. */
export function isTransientDbError(err: unknown): boolean {
  // Query builders wrap the driver's error ("Failed query: ..."): the reason is down the cause chain.
  for (
    let e = err as { cause?: unknown } | null, depth = 0;
    e && depth < 5;
    e = (e.cause as typeof e) ?? null, depth++
  ) {
    if (isTransientDriverError(e)) return true;
  }
  return false;
}

function isTransientDriverError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (!e) return false;
  const code = e.code ?? '';
  return (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      '57P01',
      '57P02',
      '57P03',
      '53300',
      '08000',
      '08003',
      '08006',
      '08001',
      '08004',
      '40001',
      '40P01',
    ].includes(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(
      e.message ?? '',
    )
  );
}
