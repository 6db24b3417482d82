import { join } from 'node:path';
import { z } from 'zod';
import { baseEnv, env, loadConfig } from '@chat/config';
import { limits } from '@chat/contracts';

/** `<repo>/.data/keys`: git-ignored, shared by every accounts process started from this checkout. */
const defaultKeysDir = join(__dirname, '..', '..', '..', '.data', 'keys');

export const Config = baseEnv.extend({
  PORT: env.port(8081),
  DATABASE_URL: env.databaseUrl(),
  AMQP_URL: env.amqpUrl(),
  /** Where the token signing key pair is generated on first start and read on every later one. */
  KEYS_DIR: z.string().min(1).default(defaultKeysDir),
  /** Internal persistence URL, for last messages and unread counts (never the public origin). */
  PERSISTENCE_URL: env.httpUrl('http://127.0.0.1:8082'),
  PERSISTENCE_TIMEOUT_MS: env.int(1_500, 50),
  ACCESS_TOKEN_TTL_SECONDS: env.int(900, 10),
  REFRESH_TOKEN_TTL_DAYS: env.int(30, 1),
  ROOM_MAX_MEMBERS: env.int(limits.defaultRoomSize, 2),
  /**
   * Login limits (src/limits): attempts per client address, and failed attempts per (username,
   * address) in LOGIN_RATE_WINDOW_MS; failed attempts per username from anywhere in
   * LOGIN_RATE_ANYWHERE_WINDOW_MS. Shared by every instance (Postgres store).
   */
  LOGIN_RATE_WINDOW_MS: env.int(60_000, 1_000),
  LOGIN_RATE_MAX_PER_USERNAME: env.int(10, 1),
  LOGIN_RATE_MAX_PER_ADDRESS: env.int(100, 1),
  LOGIN_RATE_MAX_PER_USERNAME_ANYWHERE: env.int(100, 1),
  LOGIN_RATE_ANYWHERE_WINDOW_MS: env.int(3_600_000, 1_000),
  /** Costly actions, per ACTION_RATE_WINDOW_MS: registrations per address, the others per user. */
  ACTION_RATE_WINDOW_MS: env.int(3_600_000, 1_000),
  REGISTER_RATE_MAX_PER_ADDRESS: env.int(20, 1),
  ROOM_CREATE_RATE_MAX: env.int(30, 1),
  INVITE_RATE_MAX: env.int(100, 1),
  FRIEND_REQUEST_RATE_MAX: env.int(50, 1),
  /**
   * Proxies whose X-Forwarded-For is believed (the gateway), for the per-address login limit: proxy-addr
   * names or CIDRs, comma-separated, or true/false. Accounts' port is never public, only the gateway's.
   */
  TRUST_PROXY: z
    .string()
    .default('loopback,uniquelocal')
    .transform((v): boolean | string => (v === 'true' ? true : v === 'false' ? false : v)),
  /**
   * Commits each end-to-end encrypted group keeps for devices that were away (docs/e2e.md): a device
   * further behind asks to be re-added. Lowered only by tests.
   */
  E2E_COMMITS_KEPT: env.int(1000, 2),
  /** One rejoin request per (device, conversation) per E2E_REJOIN_WINDOW_MS: each makes members' devices commit. */
  E2E_REJOIN_WINDOW_MS: env.int(30_000, 1_000),
  /** New devices per user per ACTION_RATE_WINDOW_MS whose first key packages are announced to co-members. */
  E2E_DEVICE_ANNOUNCE_MAX: env.int(20, 1),
  OUTBOX_POLL_MS: env.int(1000, 10),
  OUTBOX_BATCH: env.int(100, 1),
  /** Presence (src/presence): a reported session's life without a heartbeat, the offline grace, the sweeper cadence. */
  PRESENCE_SESSION_TTL_MS: env.int(25_000, 100),
  PRESENCE_GRACE_MS: env.int(3_000, 0),
  /** Presence is pushed to co-members of conversations up to this size only (friends always). */
  PRESENCE_FANOUT_MAX_ROOM: env.int(100, 2),
  PRESENCE_SWEEP_MS: env.int(1_000, 10),
  PRESENCE_BATCH: env.int(200, 1),
});
export type Config = z.infer<typeof Config>;

export const readConfig = (e: Record<string, string | undefined> = process.env): Config => loadConfig(Config, e);
