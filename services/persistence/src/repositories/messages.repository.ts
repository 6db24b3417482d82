import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Message } from '@chat/contracts';
import { conversationSeqs, messages, type MessageRow } from './schema';
import type { Db, Executor } from './types';

/** A stored row as the contract's Message: `body` only for text, `encrypted` only for encrypted, `event` only for a room event. */
export function toMessage(row: MessageRow): Message {
  const m: Message = {
    id: row.id,
    conversationId: row.conversationId,
    senderId: row.senderId,
    clientMsgId: row.clientMsgId,
    createdAt: row.createdAt.toISOString(),
    kind: row.kind,
  };
  if (row.kind === 'text') m.body = row.body ?? '';
  else if (row.kind === 'event') m.event = row.event as Message['event'];
  else m.encrypted = row.encrypted as Message['encrypted'];
  return m;
}

export interface PageQuery {
  before?: string;
  after?: string;
  limit: number;
}

/** Drops repeats inside one batch (same id, or same sender + clientMsgId); the first one wins. */
export function dedupe(batch: Message[]): Message[] {
  const ids = new Set<string>();
  const keys = new Set<string>();
  const out: Message[] = [];
  for (const m of batch) {
    const key = `${m.senderId}/${m.clientMsgId}`;
    if (ids.has(m.id) || keys.has(key)) continue;
    ids.add(m.id);
    keys.add(key);
    out.push(m);
  }
  return out;
}

export function createMessagesRepository(db: Db) {
  return {
    /**
     * Stores a batch inside the caller's transaction. Seqs are reserved per conversation in sorted
     * order (one statement, rows locked in VALUES order, so two batches never deadlock on each other)
     * and the row lock is held until commit: a batch that commits later always gets higher seqs.
     * Repeats are skipped by the unique keys; the seqs they reserved stay as harmless gaps.
     * Returns the ids actually inserted.
     */
    async insertBatch(tx: Executor, batch: Message[]): Promise<string[]> {
      const unique = dedupe(batch).sort((a, b) =>
        a.conversationId < b.conversationId
          ? -1
          : a.conversationId > b.conversationId
            ? 1
            : a.id < b.id
              ? -1
              : a.id > b.id
                ? 1
                : 0,
      );
      if (unique.length === 0) return [];
      const counts = new Map<string, number>();
      for (const m of unique) counts.set(m.conversationId, (counts.get(m.conversationId) ?? 0) + 1);
      const reserved = await tx
        .insert(conversationSeqs)
        .values([...counts].map(([conversationId, n]) => ({ conversationId, lastSeq: n })))
        .onConflictDoUpdate({
          target: conversationSeqs.conversationId,
          set: { lastSeq: sql`conversation_seqs.last_seq + excluded.last_seq` },
        })
        .returning();
      const next = new Map<string, number>();
      for (const r of reserved) next.set(r.conversationId, r.lastSeq - counts.get(r.conversationId)! + 1);
      const rows = unique.map((m) => {
        const seq = next.get(m.conversationId)!;
        next.set(m.conversationId, seq + 1);
        return {
          id: m.id,
          conversationId: m.conversationId,
          seq,
          senderId: m.senderId,
          clientMsgId: m.clientMsgId,
          kind: m.kind,
          body: m.kind === 'text' ? (m.body ?? null) : null,
          encrypted: m.kind === 'encrypted' ? (m.encrypted ?? null) : null,
          event: m.kind === 'event' ? (m.event ?? null) : null,
          createdAt: new Date(m.createdAt),
        };
      });
      const inserted = await tx.insert(messages).values(rows).onConflictDoNothing().returning({ id: messages.id });
      return inserted.map((r) => r.id);
    },

    /**
     * One page, oldest first. Newest and `before` pages walk (conversation_id, id) backwards; `after`
     * pages walk (conversation_id, seq) forwards from the cursor's commit sequence, so a message that
     * committed after the cursor was taken is returned even if its id is older. An `after` id not
     * stored here (yet) falls back to `id > after`.
     */
    async page(conversationId: string, q: PageQuery): Promise<{ rows: MessageRow[]; hasMore: boolean }> {
      const take = q.limit + 1;
      if (q.after) {
        const [cursor] = await db
          .select({ seq: messages.seq })
          .from(messages)
          .where(and(eq(messages.id, q.after), eq(messages.conversationId, conversationId)));
        const rows = cursor
          ? await db
              .select()
              .from(messages)
              .where(and(eq(messages.conversationId, conversationId), gt(messages.seq, cursor.seq)))
              .orderBy(asc(messages.seq))
              .limit(take)
          : await db
              .select()
              .from(messages)
              .where(and(eq(messages.conversationId, conversationId), gt(messages.id, q.after)))
              .orderBy(asc(messages.id))
              .limit(take);
        return { rows: rows.slice(0, q.limit), hasMore: rows.length > q.limit };
      }
      const where = q.before
        ? and(eq(messages.conversationId, conversationId), lt(messages.id, q.before))
        : eq(messages.conversationId, conversationId);
      const rows = await db.select().from(messages).where(where).orderBy(desc(messages.id)).limit(take);
      return { rows: rows.slice(0, q.limit).reverse(), hasMore: rows.length > q.limit };
    },
  };
}
export type MessagesRepository = ReturnType<typeof createMessagesRepository>;
