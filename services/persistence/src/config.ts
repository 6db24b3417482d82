import { z } from 'zod';
import { baseEnv, env, loadConfig } from '@chat/config';

export const Config = baseEnv.extend({
  PORT: env.port(8082),
  DATABASE_URL: env.databaseUrl(),
  AMQP_URL: env.amqpUrl(),
  /** Internal accounts URL for the membership lookup on a miss (never the public origin). */
  ACCOUNTS_URL: env.httpUrl('http://127.0.0.1:8081'),
  /** Accounts' public keys, to verify access tokens. */
  JWKS_URL: env.httpUrl('http://127.0.0.1:8081/.well-known/jwks.json'),
  /** Most events written in one transaction. */
  PERSISTENCE_BATCH: env.int(500, 1),
  /** Unacked events the broker may hand over at once (about two batches, so the next one is ready). */
  PERSISTENCE_PREFETCH: env.int(1000, 1),
  /** A batch smaller than PERSISTENCE_BATCH waits at most this long for more (0: never; history only, live delivery never waits). */
  PERSISTENCE_LINGER_MS: env.int(50, 0),
  /** How long a positive membership answer is trusted in memory. */
  MEMBER_CACHE_MS: env.int(5_000, 0),
  /** How long a bot API token's check (asked of accounts) is reused: a revoked token works at most this long. */
  API_TOKEN_CACHE_MS: env.int(30_000, 0),
  /** Apply the drizzle migrations at start-up. */
  MIGRATE: env.bool(true),
});
export type Config = z.infer<typeof Config>;

export const readConfig = (e: Record<string, string | undefined> = process.env): Config => loadConfig(Config, e);
