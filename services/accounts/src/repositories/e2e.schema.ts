import { bigint, bigserial, boolean, foreignKey, index, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { accounts, conversations, deviceKeys, users } from './schema';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

/**
 * End-to-end encryption (docs/e2e.md). Everything here is public key material or MLS ciphertext: the
 * server orders and stores it, never reads it.
 *
 * A conversation is end-to-end encrypted when it has a row here; it never stops being one. `epoch` is
 * the MLS epoch the group is in; a commit is accepted only from the current epoch (compare-and-set),
 * which gives every device the same order of commits.
 */
export const e2eGroups = accounts.table('e2e_groups', {
  conversationId: uuid('conversation_id')
    .primaryKey()
    .references(() => conversations.id, { onDelete: 'cascade' }),
  epoch: bigint('epoch', { mode: 'number' }).notNull().default(0),
  createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: createdAt(),
});

/** The group's commits in order: the one that took the group from `epoch` to `epoch + 1`. */
export const e2eCommits = accounts.table(
  'e2e_commits',
  {
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => e2eGroups.conversationId, { onDelete: 'cascade' }),
    epoch: bigint('epoch', { mode: 'number' }).notNull(),
    commit: text('commit').notNull(),
    senderUserId: uuid('sender_user_id'),
    senderDeviceId: text('sender_device_id'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.epoch] })],
);

/** A device's mailbox of Welcome messages (MLS): how a device that was added to a group joins it. */
export const e2eWelcomes = accounts.table(
  'e2e_welcomes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: uuid('user_id').notNull(),
    deviceId: text('device_id').notNull(),
    conversationId: uuid('conversation_id')
      .notNull()
      .references(() => e2eGroups.conversationId, { onDelete: 'cascade' }),
    /** The epoch the welcome joins the device into. */
    epoch: bigint('epoch', { mode: 'number' }).notNull(),
    welcome: text('welcome').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey({ columns: [t.userId, t.deviceId], foreignColumns: [deviceKeys.userId, deviceKeys.deviceId] }).onDelete(
      'cascade',
    ),
    index('e2e_welcomes_device_idx').on(t.userId, t.deviceId, t.id),
  ],
);

/**
 * MLS key packages a device published for others to add it to groups: one-time packages, deleted as
 * they are handed out, and at most one `last_resort` package, handed out (and kept) only when the
 * device has no one-time package left (RFC 9420 §16.8), so its owner knows which private key to keep.
 */
export const e2eKeyPackages = accounts.table(
  'e2e_key_packages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: uuid('user_id').notNull(),
    deviceId: text('device_id').notNull(),
    keyPackage: text('key_package').notNull(),
    lastResort: boolean('last_resort').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey({ columns: [t.userId, t.deviceId], foreignColumns: [deviceKeys.userId, deviceKeys.deviceId] }).onDelete(
      'cascade',
    ),
    index('e2e_key_packages_device_idx').on(t.userId, t.deviceId, t.id),
  ],
);

export const e2eSchema = { e2eGroups, e2eCommits, e2eWelcomes, e2eKeyPackages };
