import { randomUUID } from 'node:crypto';
import { monotonicFactory } from 'ulid';
import type { RoomEvent } from '@chat/contracts';
import type { PendingEvent } from '../outbox/outbox';

/** Message ids are ULIDs (time first), so an event sorts among the messages accepted around it. */
const ulid = monotonicFactory();

/**
 * A room event as a history entry: a `message.created` of kind `event`, written to the outbox in the
 * transaction that made the change. Persistence stores it like any message (same ids, same order,
 * `after=` sync included) and delivery sends it live to the members as `message:new`, so every member
 * and every later reader sees who joined, left, was removed, renamed the room or became owner.
 * `actorId` is the entry's sender.
 */
export function roomEventMessage(
  conversationId: string,
  actorId: string,
  event: RoomEvent,
  now = new Date(),
): PendingEvent {
  return {
    type: 'message.created',
    payload: {
      id: ulid(now.getTime()),
      conversationId,
      senderId: actorId,
      clientMsgId: randomUUID(),
      createdAt: now.toISOString(),
      kind: 'event',
      event,
    },
  };
}
