import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Message } from '@chat/contracts';
import { messages, type MessageRow } from './schema';
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
      // Both statements take one array per column (unnest) rather than one parameter per value: the
      // same plan for any batch size, and no per-value query building (drizzle's builder cost more CPU
      // than the database did for a batch of hundreds). unnest keeps the arrays' (sorted) order.
      const reserved = await tx.execute<{ conversation_id: string; last_seq: string | number }>(sql`
        insert into persistence.conversation_seqs (conversation_id, last_seq)
        select * from unnest(${sql.param([...counts.keys()])}::uuid[], ${sql.param([...counts.values()])}::bigint[])
        on conflict (conversation_id) do update set last_seq = conversation_seqs.last_seq + excluded.last_seq
        returning conversation_id, last_seq`);
      const next = new Map<string, number>();
      for (const r of reserved.rows)
        next.set(r.conversation_id, Number(r.last_seq) - counts.get(r.conversation_id)! + 1);
      const n = unique.length;
      const col = {
        id: new Array<string>(n),
        conversationId: new Array<string>(n),
        seq: new Array<number>(n),
        senderId: new Array<string>(n),
        clientMsgId: new Array<string>(n),
        kind: new Array<string>(n),
        body: new Array<string | null>(n),
        encrypted: new Array<string | null>(n),
        event: new Array<string | null>(n),
        createdAt: new Array<string>(n),
      };
      unique.forEach((m, i) => {
        const seq = next.get(m.conversationId)!;
        next.set(m.conversationId, seq + 1);
        col.id[i] = m.id;
        col.conversationId[i] = m.conversationId;
        col.seq[i] = seq;
        col.senderId[i] = m.senderId;
        col.clientMsgId[i] = m.clientMsgId;
        col.kind[i] = m.kind;
        col.body[i] = m.kind === 'text' ? (m.body ?? null) : null;
        col.encrypted[i] = m.kind === 'encrypted' && m.encrypted != null ? JSON.stringify(m.encrypted) : null;
        col.event[i] = m.kind === 'event' && m.event != null ? JSON.stringify(m.event) : null;
        col.createdAt[i] = new Date(m.createdAt).toISOString();
      });
      const p = (xs: unknown[]) => sql.param(xs);
      const inserted = await tx.execute<{ id: string }>(sql`
        insert into persistence.messages
          (id, conversation_id, seq, sender_id, client_msg_id, kind, body, encrypted, event, created_at)
        select id, conversation_id, seq, sender_id, client_msg_id, kind, body, encrypted::jsonb, event::jsonb, created_at
        from unnest(${p(col.id)}::text[], ${p(col.conversationId)}::uuid[], ${p(col.seq)}::bigint[],
                    ${p(col.senderId)}::uuid[], ${p(col.clientMsgId)}::uuid[], ${p(col.kind)}::text[],
                    ${p(col.body)}::text[], ${p(col.encrypted)}::text[], ${p(col.event)}::text[],
                    ${p(col.createdAt)}::timestamptz[])
          as t(id, conversation_id, seq, sender_id, client_msg_id, kind, body, encrypted, event, created_at)
        on conflict do nothing
        returning id`);
      return inserted.rows.map((r) => r.id);
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
