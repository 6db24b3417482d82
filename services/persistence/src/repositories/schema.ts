import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  customType,
  index,
  jsonb,
  pgSchema,
  primaryKey,
  timestamp,
  uniqueIndex,
  uuid,
  text,
} from 'drizzle-orm/pg-core';

/** Everything persistence owns lives in its own Postgres schema; no other service reads these tables. */
export const persistence = pgSchema('persistence');

/**
 * Message ids are ULIDs compared as strings; the "C" collation makes Postgres compare them byte by byte
 * (the order the ids were issued in) whatever the database's locale.
 */
const messageId = customType<{ data: string }>({ dataType: () => 'text COLLATE "C"' });

const tstz = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const messages = persistence.table(
  'messages',
  {
    id: messageId('id').primaryKey(),
    conversationId: uuid('conversation_id').notNull(),
    /** Per-conversation commit sequence: follows commit order, so `after=` never skips a late commit. */
    seq: bigint('seq', { mode: 'number' }).notNull(),
    senderId: uuid('sender_id').notNull(),
    clientMsgId: uuid('client_msg_id').notNull(),
    kind: text('kind', { enum: ['text', 'encrypted', 'event'] }).notNull(),
    body: text('body'),
    encrypted: jsonb('encrypted'),
    /** A room event (`kind = 'event'`, see RoomEvent in contracts): who joined, left, renamed... */
    event: jsonb('event'),
    createdAt: tstz('created_at').notNull(),
    storedAt: tstz('stored_at').notNull().defaultNow(),
  },
  (t) => [
    // A resend with the same clientMsgId never makes a second row (delivery guarantee 2).
    uniqueIndex('messages_sender_client_msg_uq').on(t.senderId, t.clientMsgId),
    // Newest page and `before=` pages walk this index backwards.
    index('messages_conversation_id_idx').on(t.conversationId, t.id),
    // `after=` pages walk this one forwards.
    uniqueIndex('messages_conversation_seq_uq').on(t.conversationId, t.seq),
    check(
      'messages_kind_payload_ck',
      sql`(kind = 'text' and body is not null and encrypted is null and event is null) or (kind = 'encrypted' and encrypted is not null and body is null and event is null) or (kind = 'event' and event is not null and body is null and encrypted is null)`,
    ),
  ],
);

/** The last commit sequence handed out per conversation; its row lock orders concurrent batches. */
export const conversationSeqs = persistence.table('conversation_seqs', {
  conversationId: uuid('conversation_id').primaryKey(),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull(),
});

/**
 * Conversations whose member list is known here, with the time of the snapshot, so an older
 * `conversation.changed` arriving late does not overwrite a newer list. No row = ask accounts.
 */
export const memberSets = persistence.table('member_sets', {
  conversationId: uuid('conversation_id').primaryKey(),
  syncedAt: tstz('synced_at').notNull(),
});

export const members = persistence.table(
  'members',
  {
    conversationId: uuid('conversation_id').notNull(),
    userId: uuid('user_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.userId] })],
);

/** Each reader's position in a conversation; only ever moves forward. */
export const readMarkers = persistence.table(
  'read_markers',
  {
    conversationId: uuid('conversation_id').notNull(),
    userId: uuid('user_id').notNull(),
    messageId: messageId('message_id').notNull(),
    at: tstz('at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.userId] })],
);

export const schema = { messages, conversationSeqs, memberSets, members, readMarkers };
export type Schema = typeof schema;
export type MessageRow = typeof messages.$inferSelect;
