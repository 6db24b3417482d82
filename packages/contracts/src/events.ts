import { z } from 'zod';
import { MessageId, Uuid } from './ids';
import { Conversation, Message, Presence, User } from './objects';
import {
  deliveredEvents,
  E2eEvent,
  FriendsEvent,
  InvitationEvent,
  ReadEvent,
  TypingEvent,
  type DeliveredEvent,
} from './socket';

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
   * `encrypted`: whether the conversation is end-to-end encrypted after the change (turning it on is an
   * `updated`; it never turns off). Added after version 1 of the envelope, additively: absent from an
   * older publisher's event, where it means "unknown" (not false); readers that predate it ignore it.
   */
  'conversation.changed': z.object({
    type: z.enum(['created', 'updated', 'member_added', 'member_removed']),
    conversation: Conversation.omit({ lastMessage: true, unreadCount: true }),
    memberIds: z.array(Uuid),
    removedUserIds: z.array(Uuid).default([]),
    userId: Uuid.optional(),
    encrypted: z.boolean().optional(),
  }),
  /** A room invitation changed; `userIds` are the invitee and the inviter, each sent `event`. */
  'invitation.changed': z.object({ userIds: z.array(Uuid), event: InvitationEvent }),
  /**
   * End-to-end encryption: a commit was accepted, a stale device asks to be re-added, or a member's new
   * device published its first key packages. `userIds` are the conversation's members with an MLS
   * device, each sent `event` as the socket `e2e` event.
   */
  'e2e.changed': z.object({ userIds: z.array(Uuid), event: E2eEvent }),
  /**
   * A session (refresh-token family) ended: gateways disconnect the sockets opened with its tokens, and
   * every service refuses its access tokens until `until` (when the last of them expires; absent: a day).
   */
  'session.revoked': z.object({ userId: Uuid, sessionId: Uuid, until: z.string().optional() }),
  /** A gateway saw a user's first socket connect (online) or last socket go (offline). */
  'presence.reported': z.object({ gatewayId: z.string(), userId: Uuid, online: z.boolean() }),
  /** A gateway's periodic report of the users it holds (presence heartbeat). */
  'gateway.heartbeat': z.object({
    gatewayId: z.string(),
    userIds: z.array(Uuid),
    intervalMs: z.number().int().positive(),
  }),
  /** A delivery worker (re)started and asks every gateway for a heartbeat now, to learn who is where. */
  'sessions.requested': z.object({ workerId: z.string() }),
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
  /**
   * The gateway instance that published it, on `message.created`: that gateway emits the message to
   * its own sockets once the broker confirmed it, so delivery routes it to the other gateways only.
   * Optional and additive: without it, delivery routes to every gateway holding a recipient.
   */
  origin: z.string().min(1).max(64).optional(),
  payload: z.unknown(),
});
export type Envelope<T extends EventType = EventType> = {
  v: typeof ENVELOPE_VERSION;
  type: T;
  id: string;
  occurredAt: string;
  traceId: string;
  origin?: string;
  payload: EventPayload<T>;
};

/** Any one event, discriminated by `type`: `switch (e.type)` narrows `payload` without a cast. */
export type AnyEnvelope = { [T in EventType]: Envelope<T> }[EventType];

/** Parses an envelope and its payload; throws a ZodError naming what is wrong. */
export function parseEnvelope(raw: unknown): AnyEnvelope {
  const env = Envelope.parse(raw);
  const payload = eventPayloads[env.type].parse(env.payload);
  return { ...env, payload } as AnyEnvelope;
}

/**
 * Several events of one type in one broker message (the gateway batches the sends of a few
 * milliseconds into one confirmed publish). The routing key is still the event type.
 */
export const EventBatch = z.object({ v: z.literal(ENVELOPE_VERSION), batch: z.array(z.unknown()).min(1).max(10_000) });

/**
 * The events one broker message carries: a single envelope or a batch. Throws (a ZodError) if the
 * message as a whole is malformed; an item that fails its own parse is returned in `bad` instead, so
 * one poison event never takes its batch with it.
 */
export function parseEnvelopes(raw: unknown): { events: AnyEnvelope[]; bad: Array<{ index: number; error: unknown }> } {
  if (raw !== null && typeof raw === 'object' && 'batch' in raw) {
    const { batch } = EventBatch.parse(raw);
    const events: AnyEnvelope[] = [];
    const bad: Array<{ index: number; error: unknown }> = [];
    batch.forEach((item, index) => {
      try {
        events.push(parseEnvelope(item));
      } catch (error) {
        bad.push({ index, error });
      }
    });
    return { events, bad };
  }
  return { events: [parseEnvelope(raw)], bad: [] };
}

/** One socket event for some users on one gateway, discriminated by `event`. */
export type DeliveryItem = {
  [E in DeliveredEvent]: {
    event: E;
    data: z.infer<(typeof deliveredEvents)[E]>;
    /** Every socket of these users on the gateway gets it... */
    userIds: string[];
    /** ...except the one that caused it (it has the ack), where the contract says so. */
    exceptSocketId?: string;
    traceId?: string;
    /** When the cause was accepted (ms since the epoch): the start of send-to-delivery latency. */
    sentAt?: number;
  };
}[DeliveredEvent];

export const DELIVERY_VERSION = 2;
const DeliveryItemShape = z.object({
  event: z.enum(Object.keys(deliveredEvents) as [DeliveredEvent, ...DeliveredEvent[]]),
  data: z.unknown(),
  userIds: z.array(z.string()).min(1),
  exceptSocketId: z.string().optional(),
  traceId: z.string().optional(),
  sentAt: z.number().optional(),
});

/**
 * Version 2: what delivery publishes to ONE gateway (routing key `gateway.<id>`) per batch of events:
 * every item for the users that gateway holds. The data of each item was validated when its event was
 * parsed (the event's payload schema is the socket event's), so the gateway checks the frame and the
 * event names, not each payload again.
 */
export const DeliveryBatch = z.object({
  v: z.literal(DELIVERY_VERSION),
  items: z.array(DeliveryItemShape).min(1),
});
export type DeliveryBatch = { v: typeof DELIVERY_VERSION; items: DeliveryItem[] };

export function parseDeliveryBatch(raw: unknown): DeliveryBatch {
  return DeliveryBatch.parse(raw) as DeliveryBatch;
}

export { MessageId };
