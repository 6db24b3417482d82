import { z } from 'zod';
import { MessageId, Uuid } from './ids';
import { Conversation, Message, Presence, User } from './objects';
import { FriendsEvent, InvitationEvent, ReadEvent, TypingEvent } from './socket';

/**
 * The broker's event catalogue. Every event travels in a versioned envelope; the routing key on the
 * domain exchange is the event type. Consumers parse the envelope and then the payload of its type.
 */
export const eventPayloads = {
  /** Accepted by a gateway and confirmed by the broker: durable from here on. */
  'message.created': Message,
  'message.read': ReadEvent,
  /** Ephemeral: published with a short expiration, never persisted. */
  'typing.changed': TypingEvent,
  'presence.changed': Presence,
  'user.created': User,
  /** `userIds` are the two users whose friendship changed; `event` is what each of them is sent. */
  'friendship.changed': z.object({ userIds: z.array(Uuid), event: FriendsEvent }),
  /**
   * Membership or metadata of a conversation changed. `memberIds` is the full member list after the
   * change, `removedUserIds` those who just left, so consumers can update caches without a lookup.
   */
  'conversation.changed': z.object({
    type: z.enum(['created', 'updated', 'member_added', 'member_removed']),
    conversation: Conversation.omit({ lastMessage: true, unreadCount: true }),
    memberIds: z.array(Uuid),
    removedUserIds: z.array(Uuid).default([]),
    userId: Uuid.optional(),
  }),
  /** A room invitation changed; `userIds` are the invitee and the inviter, each sent `event`. */
  'invitation.changed': z.object({ userIds: z.array(Uuid), event: InvitationEvent }),
  /** A session (refresh-token family) ended: gateways disconnect the sockets opened with its tokens. */
  'session.revoked': z.object({ userId: Uuid, sessionId: Uuid }),
  /** A gateway saw a user's first socket connect (online) or last socket go (offline). */
  'presence.reported': z.object({ gatewayId: z.string(), userId: Uuid, online: z.boolean() }),
  /** A gateway's periodic report of the users it holds (presence heartbeat). */
  'gateway.heartbeat': z.object({ gatewayId: z.string(), userIds: z.array(Uuid), intervalMs: z.number().int().positive() }),
} as const;

export type EventType = keyof typeof eventPayloads;
export type EventPayload<T extends EventType> = z.infer<(typeof eventPayloads)[T]>;
export const EventTypeSchema = z.enum(Object.keys(eventPayloads) as [EventType, ...EventType[]]);

export const ENVELOPE_VERSION = 1;

export const Envelope = z.object({
  v: z.literal(ENVELOPE_VERSION),
  type: EventTypeSchema,
  id: z.string().min(1).max(64),
  occurredAt: z.string(),
  traceId: z.string().min(1).max(64),
  payload: z.unknown(),
});
export type Envelope<T extends EventType = EventType> = {
  v: typeof ENVELOPE_VERSION;
  type: T;
  id: string;
  occurredAt: string;
  traceId: string;
  payload: EventPayload<T>;
};

/** Parses an envelope and its payload; throws a ZodError naming what is wrong. */
export function parseEnvelope(raw: unknown): Envelope {
  const env = Envelope.parse(raw);
  const payload = eventPayloads[env.type].parse(env.payload);
  return { ...env, payload } as Envelope;
}

/**
 * What delivery routes to a gateway for one recipient user: the socket event name and its payload,
 * emitted to every socket of `userId` (except `exceptSocketId`, when the sender's socket already has it).
 */
export const Delivery = z.object({
  userId: Uuid,
  event: z.enum(['message:new', 'typing', 'read', 'presence', 'friends', 'conversation', 'invitation']),
  data: z.unknown(),
  /** The socket that caused it, so the gateway can skip that one where the contract says so. */
  exceptSocketId: z.string().optional(),
  traceId: z.string().optional(),
  sentAt: z.number().optional(),
});
export type Delivery = z.infer<typeof Delivery>;

export { MessageId };
