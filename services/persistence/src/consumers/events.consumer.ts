import { isTransientDbError } from '@chat/db';
import type { AnyEnvelope, Envelope, EventPayload, Message, ReadEvent } from '@chat/contracts';
import { EXCHANGES, QUEUES, SHARED_ACK_EVERY_MS, type Broker, type ConsumerSpec } from '@chat/messaging';
import type { Deps } from '../app';
import type { Tx } from '../repositories/types';
import { parseEvent } from './parse-event';

type Change = { conversationId: string; memberIds: string[]; at: Date };

/** The latest `conversation.changed` per conversation in a batch (by occurredAt): only it matters. */
function latestChanges(events: Envelope<'conversation.changed'>[]): Change[] {
  const latest = new Map<string, Change>();
  for (const e of events) {
    const p: EventPayload<'conversation.changed'> = e.payload;
    const at = new Date(e.occurredAt);
    const cur = latest.get(p.conversation.id);
    if (!cur || at >= cur.at)
      latest.set(p.conversation.id, { conversationId: p.conversation.id, memberIds: p.memberIds, at });
  }
  return [...latest.values()];
}

type Refused = { message: Message; error: unknown };

/** Refused rows go to persistence.events.dead one by one, as envelopes an operator can replay. */
export const deadLetterTo =
  (broker: Broker) =>
  async (messages: Message[]): Promise<void> => {
    await Promise.all(
      messages.map((m) =>
        broker.publishRaw(
          EXCHANGES.deadLetter,
          QUEUES.persistence.name,
          Buffer.from(JSON.stringify(broker.envelope('message.created', m, { id: m.id }))),
          { persistent: true, contentType: 'application/json' },
        ),
      ),
    );
  };

/**
 * Inserts a batch under a savepoint: one statement in the common case. When the database refuses a
 * row (not a transient failure), the refused rows are found by halving under nested savepoints: one bad
 * row in 500 costs about 2·log2(500) ≈ 18 more statements in the same transaction, and the other 499
 * are stored with it. A poison row never splits its batch into single transactions.
 */
export async function insertIsolating(
  tx: Tx,
  rows: Message[],
  /** Stores rows on `tx`'s connection, so inside the savepoint open at the time. */
  insert: (rows: Message[]) => Promise<string[]>,
  isTransient: (e: unknown) => boolean,
): Promise<{ ids: string[]; refused: Refused[] }> {
  const go = async (part: Message[]): Promise<{ ids: string[]; refused: Refused[] }> => {
    try {
      return { ids: await tx.transaction(() => insert(part)), refused: [] };
    } catch (error) {
      if (isTransient(error)) throw error;
      if (part.length === 1) return { ids: [], refused: [{ message: part[0]!, error }] };
      const mid = part.length >> 1;
      const a = await go(part.slice(0, mid));
      const b = await go(part.slice(mid));
      return { ids: [...a.ids, ...b.ids], refused: [...a.refused, ...b.refused] };
    }
  };
  return rows.length ? go(rows) : { ids: [], refused: [] };
}

/**
 * Consumes `persistence.events`: every batch (up to PERSISTENCE_BATCH events) is written in ONE
 * transaction (for messages only, one autocommitted statement) and acked by the broker client only
 * after it commits. Idempotent: a redelivered or
 * resent message hits the unique keys and is skipped, read markers only move forward, member lists
 * carry their snapshot time. Database outages are transient: the batch is put back, not dead-lettered.
 */
export function createEventsConsumer(
  deps: Pick<Deps, 'config' | 'messages' | 'readMarkers' | 'members' | 'membership' | 'metrics'> & {
    /** Where rows the database refuses go (the dead-letter queue); they are logged either way. */
    deadLetter?: (messages: Message[]) => Promise<void>;
  },
): ConsumerSpec<AnyEnvelope> {
  return {
    queue: QUEUES.persistence.name,
    batchSize: deps.config.PERSISTENCE_BATCH,
    // A broker message may carry a gateway's batch of sends: the batch is bounded in events (rows).
    maxItems: deps.config.PERSISTENCE_BATCH,
    // Off the latency path (live delivery does not wait for it): a trickle waits a few ms to share a transaction.
    lingerMs: deps.config.PERSISTENCE_LINGER_MS,
    ackEveryMs: SHARED_ACK_EVERY_MS,
    prefetch: deps.config.PERSISTENCE_PREFETCH,
    parse: parseEvent,
    isTransient: isTransientDbError,
    async handle(items, { logger }) {
      const created: Message[] = [];
      const reads: ReadEvent[] = [];
      const changes: Envelope<'conversation.changed'>[] = [];
      for (const e of items) {
        if (e.type === 'message.created') created.push(e.payload);
        else if (e.type === 'message.read') reads.push(e.payload);
        else if (e.type === 'conversation.changed') changes.push(e);
      }
      const latest = latestChanges(changes);
      let refused: Refused[] = [];
      // A batch with reads or member changes is one transaction holding one insert statement, no
      // savepoint. Only when the database refuses something does the batch run again, in a transaction,
      // with the messages isolated under savepoints (insertIsolating).
      const commit = (isolate: boolean) =>
        deps.messages.transaction(async (tx, insert) => {
          const stored = isolate
            ? await insertIsolating(tx, created, insert, isTransientDbError)
            : { ids: await insert(created), refused: [] };
          refused = stored.refused;
          if (reads.length) await deps.readMarkers.advance(tx, reads);
          // Sorted, like the seq reservation, so concurrent batches lock member_sets rows in one order.
          for (const c of latest.sort((a, b) => (a.conversationId < b.conversationId ? -1 : 1))) {
            await deps.members.replace(tx, c.conversationId, c.memberIds, c.at);
          }
          return stored.ids;
        });
      let inserted: string[];
      try {
        // Messages only (the common case): one autocommitted statement, one round trip, no BEGIN/COMMIT.
        inserted =
          reads.length === 0 && latest.length === 0 ? await deps.messages.storeBatch(created) : await commit(false);
      } catch (err) {
        if (isTransientDbError(err) || created.length === 0) throw err;
        inserted = await commit(true);
      }
      if (refused.length) {
        for (const r of refused)
          logger.error({ err: r.error, messageId: r.message.id }, 'message refused by the database; dead-lettered');
        await deps.deadLetter?.(refused.map((r) => r.message));
      }
      for (const c of latest) deps.membership.forget(c.conversationId);
      deps.metrics.stored.inc(inserted.length);
      deps.metrics.duplicates.inc(created.length - inserted.length);
      logger.debug(
        { events: items.length, stored: inserted.length, reads: reads.length, changes: latest.length },
        'batch committed',
      );
    },
  };
}
