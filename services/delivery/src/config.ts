import { z } from 'zod';
import { baseEnv, env, loadConfig } from '@chat/config';

export const Config = baseEnv.extend({
  PORT: env.port(8083),
  AMQP_URL: env.amqpUrl(),
  /** Internal accounts URL for the members lookup (never the public origin). */
  ACCOUNTS_URL: env.httpUrl('http://127.0.0.1:8081'),
  DELIVERY_PREFETCH: env.int(256, 1),
  DELIVERY_BATCH: env.int(128, 1),
});
export type Config = z.infer<typeof Config>;

export const readConfig = (e: Record<string, string | undefined> = process.env): Config => loadConfig(Config, e);
