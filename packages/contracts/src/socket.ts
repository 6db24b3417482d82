import { z } from 'zod';
import { ErrorBody } from './errors';
import { MessageId, Uuid } from './ids';
import { Conversation, EncryptedPayload, Invitation, Message, Presence, TextBody } from './objects';
import type { EventMeta, SessionEvent } from './session';

/* Client to server: parsed at the gateway before any handler sees them. */
/**
 * `resend` **[addition]**: true on every attempt after the first (the previous one's outcome is unknown).
 * A gateway that knows nothing of the send then asks history for an earlier attempt before it acks, so
 * the ack names the id history keeps even when the first attempt went through another gateway.
 */
const Resend = z.boolean().optional();
export const MessageSendPayload = z.union([
  z.strictObject({ conversationId: Uuid, clientMsgId: Uuid, body: TextBody, resend: Resend }),
  z.strictObject({ conversationId: Uuid, clientMsgId: Uuid, encrypted: EncryptedPayload, resend: Resend }),
]);
export type MessageSendPayload = z.infer<typeof MessageSendPayload>;
export const TypingPayload = z.strictObject({ conversationId: Uuid, typing: z.boolean() });
export type TypingPayload = z.infer<typeof TypingPayload>;
export const ReadPayload = z.strictObject({ conversationId: Uuid, messageId: MessageId });
export type ReadPayload = z.infer<typeof ReadPayload>;

export const clientEventSchemas = {
  'message:send': MessageSendPayload,
  typing: TypingPayload,
  read: ReadPayload,
} as const;
export type ClientEventName = keyof typeof clientEventSchemas;

/* Server to client. */
export const TypingEvent = z.object({ conversationId: Uuid, userId: Uuid, typing: z.boolean() });
export type TypingEvent = z.infer<typeof TypingEvent>;
export const ReadEvent = z.object({ conversationId: Uuid, userId: Uuid, messageId: MessageId, at: z.string() });
export type ReadEvent = z.infer<typeof ReadEvent>;
export const FriendsEvent = z.object({ type: z.enum(['request', 'accepted', 'removed']) }).passthrough();
export type FriendsEvent = z.infer<typeof FriendsEvent>;
export const ConversationEvent = z.object({
  type: z.enum(['created', 'updated', 'member_added', 'member_removed']),
  conversation: Conversation.partial({ lastMessage: true, unreadCount: true }),
  userId: Uuid.optional(),
  /** Whether the conversation is end-to-end encrypted after the change (switching it on is an `updated`). */
  encrypted: z.boolean().optional(),
});
export type ConversationEvent = z.infer<typeof ConversationEvent>;

/**
 * A room invitation changed: `created` (to the invitee and the inviter), `accepted`, `declined`,
 * `cancelled` (to both). `userId` is who acted.
 */
export const InvitationEvent = z.object({
  type: z.enum(['created', 'accepted', 'declined', 'cancelled']),
  invitation: Invitation,
  userId: Uuid,
});
export type InvitationEvent = z.infer<typeof InvitationEvent>;

const DeviceIdString = z.string().min(1).max(64);
/**
 * End-to-end encryption (docs/e2e.md); carries no secret.
 * - `commit`: a commit was accepted for an encrypted conversation you are in, so the group is now at
 *   `epoch`. `deviceId` made it (that device has applied it already); `welcomed` are the devices it
 *   added, each with a Welcome in its mailbox. A device behind `epoch` fetches
 *   `GET /api/v1/e2e/groups/:id/commits`; a welcomed device fetches its welcomes.
 * - `rejoin`: a member's device (`userId`, `deviceId`) fell too far behind to catch up and asks to be
 *   re-added with `keyPackage` (a fresh one of its own). A device whose group is at `epoch` commits
 *   the re-add (removes the stale leaf, adds the package) after checking the package is that device's.
 * - `device`: a member (`userId`) registered a new device (`deviceId`, its first key packages): a device
 *   of the group adds it (claims a package, commits, welcomes it), so it need not wait until a member
 *   sends or opens the conversation. Several may try; the epoch compare-and-set lets one through.
 */
export const E2eEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('commit'),
    conversationId: Uuid,
    epoch: z.number().int().min(1),
    deviceId: DeviceIdString,
    welcomed: z.array(z.object({ userId: Uuid, deviceId: DeviceIdString })).max(100),
  }),
  z.object({
    type: z.literal('rejoin'),
    conversationId: Uuid,
    epoch: z.number().int().min(0),
    userId: Uuid,
    deviceId: DeviceIdString,
    keyPackage: z.string().min(1).max(2048),
  }),
  z.object({
    type: z.literal('device'),
    conversationId: Uuid,
    userId: Uuid,
    deviceId: DeviceIdString,
  }),
]);
export type E2eEvent = z.infer<typeof E2eEvent>;

/**
 * The gateway lost its broker connection (a broker restart, a network cut): live events sent while it
 * was re-subscribing may be missing. Fetch history after your sync cursor for every conversation
 * (`GET /api/v1/conversations/:id/messages?after=<cursor>`), then carry on.
 */
export const ResyncEvent = z.object({ reason: z.literal('broker-reconnect'), at: z.string() });
export type ResyncEvent = z.infer<typeof ResyncEvent>;

/** The socket events delivery routes, with the payload each carries (see DeliveryItem in events.ts). */
export const deliveredEvents = {
  'message:new': Message,
  typing: TypingEvent,
  read: ReadEvent,
  presence: Presence,
  friends: FriendsEvent,
  conversation: ConversationEvent,
  invitation: InvitationEvent,
  e2e: E2eEvent,
} as const;
export type DeliveredEvent = keyof typeof deliveredEvents;

/** Every server-to-client event: what delivery routes, plus the gateway's own `resync`. */
export const serverEventSchemas = { ...deliveredEvents, resync: ResyncEvent } as const;
export type ServerEventName = keyof typeof serverEventSchemas;

export type Ack<T extends object = object> = ({ ok: true } & T) | ({ ok: false } & ErrorBody);

/** Socket.IO event maps, shared by the gateway and every TypeScript client. */
export interface ClientToServerEvents {
  'message:send': (payload: MessageSendPayload, ack: (res: Ack<{ message: Message }>) => void) => void;
  typing: (payload: TypingPayload, ack?: (res: Ack) => void) => void;
  read: (payload: ReadPayload, ack?: (res: Ack) => void) => void;
}
/** Every event but `session` carries its per-session sequence as a second argument (see session.ts). */
export interface ServerToClientEvents {
  'message:new': (m: Message, meta: EventMeta) => void;
  typing: (e: TypingEvent, meta: EventMeta) => void;
  read: (e: ReadEvent, meta: EventMeta) => void;
  presence: (e: Presence, meta: EventMeta) => void;
  friends: (e: FriendsEvent, meta: EventMeta) => void;
  conversation: (e: ConversationEvent, meta: EventMeta) => void;
  invitation: (e: InvitationEvent, meta: EventMeta) => void;
  e2e: (e: E2eEvent, meta: EventMeta) => void;
  session: (e: SessionEvent) => void;
  /** Not numbered: sent to every socket at once after the gateway's broker connection came back. */
  resync: (e: ResyncEvent) => void;
}
