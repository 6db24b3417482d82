import { eventPayloads, type EventPayload, type EventType } from '@chat/contracts';
import type { Executor } from '../repositories/types';
import { outbox } from '../repositories/schema';

/**
 * Writes events into the outbox inside the caller's transaction. The payload is validated here, at
 * write time, so a malformed event fails the change that produced it instead of the relay later.
 */
export async function enqueue<T extends EventType>(
  tx: Executor,
  type: T,
  payload: EventPayload<T>,
  traceId: string,
): Promise<void> {
  const valid = eventPayloads[type].parse(payload);
  await tx.insert(outbox).values({ type, payload: valid, traceId });
}

/** An event to write alongside a change; `traceId` is filled in by the caller's context. */
export type PendingEvent = { [T in EventType]: { type: T; payload: EventPayload<T> } }[EventType];

export async function enqueueAll(tx: Executor, events: PendingEvent[], traceId: string): Promise<void> {
  for (const e of events) await enqueue(tx, e.type, e.payload as never, traceId);
}
