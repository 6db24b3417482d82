import { eq, inArray, sql } from 'drizzle-orm';
import type { ReadEvent } from '@chat/contracts';
import { messages, readMarkers } from './schema';
import type { Db, Executor } from './types';

/** Keeps the furthest marker per (conversation, reader): one upsert may not touch a row twice. */
export function furthest(events: ReadEvent[]): ReadEvent[] {
  const best = new Map<string, ReadEvent>();
  for (const e of events) {
    const key = `${e.conversationId}/${e.userId}`;
    const cur = best.get(key);
    if (!cur || e.messageId > cur.messageId) best.set(key, e);
  }
  return [...best.values()];
}

export function createReadMarkersRepository(db: Db) {
  return {
    /**
     * Moves each reader's marker forward only: an older or repeated read event changes nothing. A
     * marker must name a stored message of that conversation: any other id (a forged `7ZZZ...`, which
     * would otherwise pin the marker past every future message, or another conversation's message)
     * is dropped. The message is stored before its read: the gateway publishes a read after the reader
     * received the message, and both travel the same queue, whose batch inserts messages first.
     */
    async advance(exec: Executor, events: ReadEvent[]): Promise<void> {
      if (events.length === 0) return;
      const ids = [...new Set(events.map((e) => e.messageId))];
      const stored = await exec
        .select({ id: messages.id, conversationId: messages.conversationId })
        .from(messages)
        .where(inArray(messages.id, ids));
      const conversationOf = new Map(stored.map((r) => [r.id, r.conversationId]));
      const genuine = events.filter((e) => conversationOf.get(e.messageId) === e.conversationId);
      const rows = furthest(genuine).map((e) => ({
        conversationId: e.conversationId,
        userId: e.userId,
        messageId: e.messageId,
        at: new Date(e.at),
      }));
      if (rows.length === 0) return;
      await exec
        .insert(readMarkers)
        .values(rows)
        .onConflictDoUpdate({
          target: [readMarkers.conversationId, readMarkers.userId],
          set: { messageId: sql`excluded.message_id`, at: sql`excluded."at"` },
          setWhere: sql`excluded.message_id > read_markers.message_id`,
        });
    },

    async forConversation(conversationId: string): Promise<Record<string, string>> {
      const rows = await db.select().from(readMarkers).where(eq(readMarkers.conversationId, conversationId));
      return Object.fromEntries(rows.map((r) => [r.userId, r.messageId]));
    },
  };
}
export type ReadMarkersRepository = ReturnType<typeof createReadMarkersRepository>;
