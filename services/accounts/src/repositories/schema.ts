import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  integer,
  varchar,
  check,
  index,
  jsonb,
  pgSchema,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

export const accounts = pgSchema('accounts');

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const users = accounts.table(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Stored lowercased: the unique index makes usernames case-insensitively unique. */
    username: text('username').notNull(),
    displayName: text('display_name').notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAt(),
    /** Set on bot accounts: the user who owns the bot (bots have no usable password). */
    botOwnerId: uuid('bot_owner_id').references((): AnyPgColumn => users.id, { onDelete: 'cascade' }),
  },
  (t) => [
    uniqueIndex('users_username_key').on(t.username),
    check('users_username_lower', sql`${t.username} = lower(${t.username})`),
    index('users_bot_owner_idx')
      .on(t.botOwnerId)
      .where(sql`${t.botOwnerId} is not null`),
  ],
);

/** A bot's long-lived API tokens. Only the SHA-256 of the secret is stored; a revoked row is kept. */
export const apiTokens = accounts.table(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    botId: uuid('bot_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    scopes: text('scopes').array().notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [uniqueIndex('api_tokens_hash_key').on(t.tokenHash), index('api_tokens_bot_idx').on(t.botId)],
);

/**
 * One row per refresh token ever issued. A session is a family: every rotation adds a row with the same
 * family id and marks the previous one rotated. Only SHA-256 hashes of tokens are stored.
 */
export const refreshTokens = accounts.table(
  'refresh_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    familyId: uuid('family_id').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('refresh_tokens_hash_key').on(t.tokenHash),
    index('refresh_tokens_family_idx').on(t.familyId),
    // The start-up load of every service (GET /internal/v1/sessions/revoked: revoked_at > now - access
    // token TTL, grouped by family). Partial, so live tokens (most rows) cost it nothing; family_id rides
    // along so the scan reads the index only.
    index('refresh_tokens_revoked_idx')
      .on(t.revokedAt, t.familyId)
      .where(sql`${t.revokedAt} is not null`),
  ],
);

export const friendRequests = accounts.table(
  'friend_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    fromUserId: uuid('from_user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    toUserId: uuid('to_user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('friend_requests_pair_key').on(t.fromUserId, t.toUserId),
    index('friend_requests_to_idx').on(t.toUserId),
  ],
);

/** One row per pair, ordered (`userA < userB`), so a pair cannot be friends twice. */
export const friendships = accounts.table(
  'friendships',
  {
    userA: uuid('user_a')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userB: uuid('user_b')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.userA, t.userB] }),
    index('friendships_b_idx').on(t.userB),
    check('friendships_ordered', sql`${t.userA} < ${t.userB}`),
  ],
);

export const blocks = accounts.table(
  'blocks',
  {
    blockerId: uuid('blocker_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    blockedId: uuid('blocked_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.blockerId, t.blockedId] }), index('blocks_blocked_idx').on(t.blockedId)],
);

/**
 * Direct conversations carry their ordered pair (`directA < directB`); the unique index on it is what
 * makes "the same direct conversation every time" hold under concurrent creation. Rooms leave both null.
 */
export const conversations = accounts.table(
  'conversations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind', { enum: ['direct', 'room'] }).notNull(),
    title: text('title'),
    directA: uuid('direct_a').references(() => users.id, { onDelete: 'cascade' }),
    directB: uuid('direct_b').references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('conversations_direct_pair_key').on(t.directA, t.directB),
    check(
      'conversations_direct_shape',
      sql`(${t.kind} = 'direct') = (${t.directA} is not null and ${t.directB} is not null and ${t.directA} < ${t.directB})`,
    ),
  ],
);

export const conversationMembers = accounts.table(
  'conversation_members',
  {
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ['owner', 'admin', 'member'] }).notNull(),
    joinedAt: timestamp('joined_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.userId] }), index('conversation_members_user_idx').on(t.userId)],
);

/**
 * A pending invitation to a room: joining needs the invitee's consent. Accepting makes them a member
 * and deletes the row; declining or cancelling deletes it. One pending invitation per (room, invitee).
 */
export const roomInvitations = accounts.table(
  'room_invitations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    inviterId: uuid('inviter_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    inviteeId: uuid('invitee_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('room_invitations_pair_key').on(t.conversationId, t.inviteeId),
    index('room_invitations_invitee_idx').on(t.inviteeId),
    index('room_invitations_inviter_idx').on(t.inviterId),
  ],
);

/**
 * Counters of rate-limiter-flexible's Postgres store (the library's own table shape), shared by every
 * accounts instance so a limit holds across them. Keys are `<limit name>:<key>`.
 */
export const rateLimits = accounts.table('rate_limits', {
  key: varchar('key', { length: 255 }).primaryKey(),
  points: integer('points').notNull().default(0),
  expire: bigint('expire', { mode: 'number' }),
});

export const deviceKeys = accounts.table(
  'device_keys',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    deviceId: text('device_id').notNull(),
    publicKey: text('public_key').notNull(),
    algorithm: text('algorithm'),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.deviceId] })],
);

/**
 * Transactional outbox: events are written in the same transaction as the change they describe and
 * published by the relay afterwards, so a committed change is never left unpublished.
 */
export const outbox = accounts.table(
  'outbox',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    eventId: uuid('event_id').notNull().defaultRandom(),
    type: text('type').notNull(),
    payload: jsonb('payload').notNull(),
    traceId: text('trace_id').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    index('outbox_pending_idx')
      .on(t.seq)
      .where(sql`${t.sentAt} is null`),
  ],
);

// Presence state lives in Postgres, so a restart of any service forgets nothing (src/presence).
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * One row per (user, gateway) holding at least one socket of the user, kept alive by the gateway's
 * reports and heartbeats. A user is online while any unexpired row exists; the sweeper deletes
 * expired rows (a dead gateway). No foreign key: a report must never fail on a user deleted meanwhile.
 */
export const presenceSessions = accounts.table(
  'presence_sessions',
  {
    userId: uuid('user_id').notNull(),
    gatewayId: text('gateway_id').notNull(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.gatewayId] }),
    index('presence_sessions_gateway_idx').on(t.gatewayId),
    index('presence_sessions_expires_idx').on(t.expiresAt),
  ],
);

/**
 * The presence each user's contacts were last told. `offline_pending_since` is set when the user's
 * last session went: the offline transition waits a grace so a reconnect loop makes no events.
 */
export const presence = accounts.table(
  'presence',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    online: boolean('online').notNull().default(false),
    lastSeenAt: ts('last_seen_at'),
    offlinePendingSince: ts('offline_pending_since'),
  },
  (t) => [
    index('presence_pending_idx')
      .on(t.offlinePendingSince)
      .where(sql`${t.offlinePendingSince} is not null`),
  ],
);

export const schema = {
  users,
  apiTokens,
  refreshTokens,
  friendRequests,
  friendships,
  blocks,
  conversations,
  conversationMembers,
  roomInvitations,
  deviceKeys,
  outbox,
};
