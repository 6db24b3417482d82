import { z } from 'zod';
import { baseEnv, env, loadConfig } from '@chat/config';

export const Config = baseEnv.extend({
  /** The operator API's port; 0 picks a free one, so N local workers can run side by side. */
  PORT: env.port(8083),
  AMQP_URL: env.amqpUrl(),
  /** Internal accounts URL for the members lookup (never the public origin). */
  ACCOUNTS_URL: env.httpUrl('http://127.0.0.1:8081'),
  ACCOUNTS_TIMEOUT_MS: env.int(3_000, 1),
  DELIVERY_PREFETCH: env.int(256, 1),
  DELIVERY_BATCH: env.int(128, 1),
  /** Members cached per conversation; membership events keep entries fresh, the TTL bounds a missed one. */
  MEMBERS_CACHE_SIZE: env.int(50_000, 1),
  MEMBERS_CACHE_TTL_MS: env.int(60_000, 0),
  /** A fresh worker asks the gateways for their sessions and waits at most this long for the answers before routing. */
  SESSIONS_WARMUP_MS: env.int(1_000, 0),
  /** Names this worker's own cache-update queue; unique per process by default. */
  INSTANCE_ID: env.instanceId(),
});
export type Config = z.infer<typeof Config>;

export const readConfig = (e: Record<string, string | undefined> = process.env): Config => loadConfig(Config, e);
