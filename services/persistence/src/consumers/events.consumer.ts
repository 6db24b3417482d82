import { isTransientDbError } from '@chat/db';
import type { Envelope, EventPayload, Message, ReadEvent } from '@chat/contracts';
import { QUEUES, type ConsumerSpec } from '@chat/messaging';
import type { Deps } from '../app';
import { parseEvent } from './parse-event';

type Change = { conversationId: string; memberIds: string[]; at: Date };

/** The latest `conversation.changed` per conversation in a batch (by occurredAt): only it matters. */
function latestChanges(events: Envelope<'conversation.changed'>[]): Change[] {
  const latest = new Map<string, Change>();
  for (const e of events) {
    const p: EventPayload<'conversation.changed'> = e.payload;
    const at = new Date(e.occurredAt);
    const cur = latest.get(p.conversation.id);
    if (!cur || at >= cur.at) latest.set(p.conversation.id, { conversationId: p.conversation.id, memberIds: p.memberIds, at });
  }
  return [...latest.values()];
}

/**
 * Consumes `persistence.events`: every batch (up to PERSISTENCE_BATCH events) is written in ONE
 * transaction and acked by the broker client only after it commits. Idempotent: a redelivered or
 * resent message hits the unique keys and is skipped, read markers only move forward, member lists
 * carry their snapshot time. Database outages are transient: the batch is put back, not dead-lettered.
 */
export function createEventsConsumer(deps: Pick<Deps, 'config' | 'db' | 'messages' | 'readMarkers' | 'members' | 'membership' | 'metrics'>): ConsumerSpec<Envelope> {
  return {
    queue: QUEUES.persistence.name,
    batchSize: deps.config.PERSISTENCE_BATCH,
    prefetch: deps.config.PERSISTENCE_PREFETCH,
    parse: parseEvent,
    isTransient: isTransientDbError,
    async handle(items, { logger }) {
      const created: Message[] = [];
      const reads: ReadEvent[] = [];
      const changes: Envelope<'conversation.changed'>[] = [];
      for (const e of items) {
        if (e.type === 'message.created') created.push((e as Envelope<'message.created'>).payload);
        else if (e.type === 'message.read') reads.push((e as Envelope<'message.read'>).payload);
        else if (e.type === 'conversation.changed') changes.push(e as Envelope<'conversation.changed'>);
      }
      const latest = latestChanges(changes);
      const inserted = await deps.db.transaction(async (tx) => {
        const ids = created.length ? await deps.messages.insertBatch(tx, created) : [];
        if (reads.length) await deps.readMarkers.advance(tx, reads);
        // Sorted, like the seq reservation, so concurrent batches lock member_sets rows in one order.
        for (const c of latest.sort((a, b) => (a.conversationId < b.conversationId ? -1 : 1))) {
          await deps.members.replace(tx, c.conversationId, c.memberIds, c.at);
        }
        return ids;
      });
      for (const c of latest) deps.membership.forget(c.conversationId);
      deps.metrics.stored.inc(inserted.length);
      deps.metrics.duplicates.inc(created.length - inserted.length);
      logger.debug({ events: items.length, stored: inserted.length, reads: reads.length, changes: latest.length }, 'batch committed');
    },
  };
}
