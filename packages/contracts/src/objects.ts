import { z } from 'zod';
import { limits } from './limits';
import { MessageId, Uuid, charLength, utf8Bytes } from './ids';
import { isStorable, StorableString, unstorableMessage } from './text';

const isoTime = z.string();

export const User = z.object({
  id: Uuid,
  username: z.string(),
  displayName: z.string(),
  createdAt: isoTime,
  /** Present (true) on bot accounts only. */
  bot: z.literal(true).optional(),
});
export type User = z.infer<typeof User>;

export const TextBody = z
  .string()
  .refine((s) => charLength(s) >= limits.textMin && charLength(s) <= limits.textMax, {
    message: `must be ${limits.textMin}-${limits.textMax} characters`,
  })
  .refine((s) => s.trim().length > 0, { message: 'must not be blank' })
  .refine(isStorable, { message: unstorableMessage });

/** Opaque to the server: it stores and forwards it, never reads it. */
export const EncryptedPayload = z
  .strictObject({
    ciphertext: StorableString().min(1).max(limits.encryptedMaxChars),
    nonce: StorableString().min(1).max(256),
    keyId: StorableString().min(1).max(256),
    senderDeviceId: StorableString().min(1).max(128),
    recipients: z
      .array(
        z.strictObject({ deviceId: StorableString().min(1).max(128), wrappedKey: StorableString().min(1).max(1024) }),
      )
      .max(2000)
      .optional(),
  })
  .refine((p) => utf8Bytes(JSON.stringify(p)) <= limits.encryptedMaxBytes, {
    message: `must be at most ${limits.encryptedMaxBytes} bytes as JSON`,
  });
export type EncryptedPayload = z.infer<typeof EncryptedPayload>;

/**
 * What happened in a room, recorded by the server as a history entry (`kind: "event"`) so every member
 * and every later reader sees it in order with the messages. The entry's `senderId` is who did it;
 * `userId` is the member it concerns (who joined, left, was removed or became owner); `title` is the
 * room's name after `created` and `renamed`; `actorName` and `userName` are their display names then.
 */
export const RoomEvent = z.object({
  type: z.enum(['created', 'joined', 'left', 'removed', 'renamed', 'owner_changed']),
  userId: Uuid.optional(),
  title: z.string().optional(),
  /** Display names at the time, for readers who never met these people (e.g. after they left). */
  actorName: z.string().optional(),
  userName: z.string().optional(),
});
export type RoomEvent = z.infer<typeof RoomEvent>;

export const Message = z.object({
  id: MessageId,
  conversationId: Uuid,
  senderId: Uuid,
  clientMsgId: Uuid,
  createdAt: isoTime,
  kind: z.enum(['text', 'encrypted', 'event']),
  body: z.string().optional(),
  encrypted: EncryptedPayload.optional(),
  event: RoomEvent.optional(),
});
export type Message = z.infer<typeof Message>;

export const MemberRole = z.enum(['owner', 'admin', 'member']);
export type MemberRole = z.infer<typeof MemberRole>;

export const Member = z.object({
  userId: Uuid,
  /** Added to the contract: the names a client shows, so it needs no lookup per member. */
  username: z.string().optional(),
  displayName: z.string().optional(),
  role: MemberRole,
  lastReadMessageId: MessageId.nullable(),
});
export type Member = z.infer<typeof Member>;

export const Conversation = z.object({
  id: Uuid,
  kind: z.enum(['direct', 'room']),
  title: z.string().nullable(),
  members: z.array(Member),
  createdAt: isoTime,
  lastMessage: Message.nullable(),
  unreadCount: z.number().int().nonnegative(),
});
export type Conversation = z.infer<typeof Conversation>;

export const Presence = z.object({
  userId: Uuid,
  online: z.boolean(),
  lastSeenAt: isoTime.nullable(),
});
export type Presence = z.infer<typeof Presence>;

/** A pending invitation to a room: joining needs the invitee's consent. */
export const Invitation = z.object({
  id: Uuid,
  conversation: z.object({ id: Uuid, title: z.string().nullable() }),
  from: User,
  to: User,
  createdAt: isoTime,
});
export type Invitation = z.infer<typeof Invitation>;
