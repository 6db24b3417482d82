import { join } from 'node:path';
import { z } from 'zod';
import { baseEnv, env, loadConfig } from '@chat/config';

export const Config = baseEnv.extend({
  PORT: env.port(8080),
  /**
   * The operator listener (/healthz, /readyz, /metrics), never the public origin. 0 picks a free port
   * (logged); set a fixed one where something scrapes it.
   */
  OPS_PORT: env.port(0),
  OPS_HOST: env.host(),
  AMQP_URL: env.amqpUrl(),
  /** Accounts' own port: public routes are proxied there, internal lookups go there directly. */
  ACCOUNTS_URL: env.httpUrl('http://127.0.0.1:8081'),
  PERSISTENCE_URL: env.httpUrl('http://127.0.0.1:8082'),
  /** Defaults to `${ACCOUNTS_URL}/.well-known/jwks.json`. */
  JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The web client's static build. */
  WEB_DIR: z
    .string()
    .min(1)
    .default(join(__dirname, '..', '..', '..', 'web', 'build')),
  /** Names this instance's delivery queue `gateway.<id>`; unique per process by default. */
  INSTANCE_ID: env.instanceId(),
  /** Per user on this gateway (src/rate-limit.ts): sustained rate per second, plus a burst. */
  SEND_RATE_PER_SEC: env.int(20, 1),
  SEND_RATE_BURST: env.int(50, 1),
  /** `typing` and `read` fan out to every member (up to a room's size): limited like sends. */
  TYPING_RATE_PER_SEC: env.int(2, 1),
  TYPING_RATE_BURST: env.int(10, 1),
  READ_RATE_PER_SEC: env.int(5, 1),
  READ_RATE_BURST: env.int(20, 1),
  /** Recent accepted sends (of every gateway) remembered for idempotent retries. */
  RECENT_SENDS: env.int(100_000, 1),
  /** Conversations cached for membership checks, and for how long. */
  CONVERSATION_CACHE_SIZE: env.int(50_000, 1),
  CONVERSATION_CACHE_TTL_MS: env.int(60_000, 0),
  ACCOUNTS_TIMEOUT_MS: env.int(3_000, 1),
  BROKER_CONFIRM_TIMEOUT_MS: env.int(5_000, 1),
  /** Sends arriving while a publish waits for its confirm are batched into one broker message: for at most this long, */
  SEND_BATCH_WINDOW_MS: env.int(2, 0),
  /** or this many messages. With nothing waiting, a send is published at once. */
  SEND_BATCH_MAX: env.int(100, 1),
  /**
   * With nothing waiting, a send may wait this long for others, only while sends arrive at least twice
   * per window on average (a steady stream): one broker message for several. 0: never wait.
   */
  SEND_BATCH_LINGER_MS: env.int(8, 0),
  DELIVERY_PREFETCH: env.int(512, 1),
  DELIVERY_BATCH: env.int(256, 1),
  /** `gateway.heartbeat` cadence: accounts expires this gateway's users about 2.5 heartbeats after the last. */
  PRESENCE_HEARTBEAT_MS: env.int(10_000, 50),
  /** A `typing: true` refresh is forwarded at most this often; one not refreshed expires after TYPING_EXPIRE_MS. */
  TYPING_REFRESH_MS: env.int(3_000, 0),
  TYPING_EXPIRE_MS: env.int(6_000, 10),
  /** Newest read remembered per user and conversation (backward reads are dropped). */
  READ_CURSORS: env.int(100_000, 1),
  /** A dropped socket session stays resumable this long; it keeps its newest RESUME_BUFFER events. */
  RESUME_WINDOW_MS: env.int(30_000, 0),
  RESUME_BUFFER: env.int(256, 1),
  /** A bot API token's check (asked of accounts) is reused this long; its sockets re-check it this often. */
  API_TOKEN_CACHE_MS: env.int(30_000, 0),
  API_TOKEN_RECHECK_MS: env.int(60_000, 100),
});
export type Config = z.infer<typeof Config>;

export const readConfig = (e: Record<string, string | undefined> = process.env): Config => loadConfig(Config, e);

export const jwksUrl = (c: Config): string =>
  c.JWKS_URL ?? `${c.ACCOUNTS_URL.replace(/\/$/, '')}/.well-known/jwks.json`;
