import { and, asc, desc, eq, gt, lt } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Pool, PoolClient } from 'pg';
import type { Message } from '@chat/contracts';
import { messages, schema, type MessageRow } from './schema';
import type { Db, Tx } from './types';

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

/**
 * The whole batch insert as ONE statement (data-modifying CTEs, atomic on its own: no explicit
 * transaction needed). Seqs are reserved per conversation in conversation order (rows locked in that
 * order, so two batches never deadlock on each other) and the row lock is held until the statement's
 * transaction commits: a batch that commits later always gets higher seqs. Within a conversation the
 * messages take their seqs in id order (`row_number`). Repeats inside the batch are dropped before
 * (`dedupe`) and spend no seq; rows already stored are skipped by the unique keys, and the seqs they
 * reserved stay as harmless gaps. One array per column (unnest): the same plan for any batch size, and
 * the text never changes, so it is a named prepared statement (parsed and planned once per connection).
 */
export const INSERT_BATCH_SQL = `
with batch as (
  select t.*,
         row_number() over (partition by t.conversation_id order by t.id collate "C") as rn,
         count(*) over (partition by t.conversation_id) as n
  from unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[],
              $9::timestamptz[])
    as t(id, conversation_id, sender_id, client_msg_id, kind, body, encrypted, event, created_at)
),
reserved as (
  insert into persistence.conversation_seqs as s (conversation_id, last_seq)
  select conversation_id, count(*) from batch group by conversation_id order by conversation_id
  on conflict (conversation_id) do update set last_seq = s.last_seq + excluded.last_seq
  returning conversation_id, last_seq
)
insert into persistence.messages
  (id, conversation_id, seq, sender_id, client_msg_id, kind, body, encrypted, event, created_at)
select b.id, b.conversation_id, r.last_seq - b.n + b.rn, b.sender_id, b.client_msg_id, b.kind, b.body,
       b.encrypted::jsonb, b.event::jsonb, b.created_at
from batch b join reserved r on r.conversation_id = b.conversation_id
order by b.conversation_id, b.id collate "C"
on conflict do nothing
returning id`;

/** The statement's parameters: one array per column, in INSERT_BATCH_SQL's order. */
export function batchColumns(unique: Message[]): unknown[][] {
  const n = unique.length;
  const id = new Array<string>(n);
  const conversationId = new Array<string>(n);
  const senderId = new Array<string>(n);
  const clientMsgId = new Array<string>(n);
  const kind = new Array<string>(n);
  const body = new Array<string | null>(n);
  const encrypted = new Array<string | null>(n);
  const event = new Array<string | null>(n);
  const createdAt = new Array<string>(n);
  unique.forEach((m, i) => {
    id[i] = m.id;
    conversationId[i] = m.conversationId;
    senderId[i] = m.senderId;
    clientMsgId[i] = m.clientMsgId;
    kind[i] = m.kind;
    body[i] = m.kind === 'text' ? (m.body ?? null) : null;
    encrypted[i] = m.kind === 'encrypted' && m.encrypted != null ? JSON.stringify(m.encrypted) : null;
    event[i] = m.kind === 'event' && m.event != null ? JSON.stringify(m.event) : null;
    createdAt[i] = new Date(m.createdAt).toISOString();
  });
  return [id, conversationId, senderId, clientMsgId, kind, body, encrypted, event, createdAt];
}

export function createMessagesRepository(db: Db, pool: Pool) {
  // A drizzle session per pooled connection, made once: a transaction on it can also issue the named
  // statement on the connection itself (drizzle's execute would rebuild and re-plan it every time).
  const sessions = new WeakMap<PoolClient, Db>();
  const store = async (on: Pool | PoolClient, batch: Message[]): Promise<string[]> => {
    const unique = dedupe(batch);
    if (unique.length === 0) return [];
    const res = await on.query<{ id: string }>({
      name: 'persistence.insert_batch',
      text: INSERT_BATCH_SQL,
      values: batchColumns(unique),
    });
    return res.rows.map((r) => r.id);
  };
  return {
    /**
     * Stores a batch in one statement and one round trip on a pooled connection, autocommitted: the
     * common case (a batch of messages only). Returns the ids actually inserted.
     */
    storeBatch: (batch: Message[]): Promise<string[]> => store(pool, batch),

    /**
     * Stores `m` unless its `(senderId, clientMsgId)` is stored already, and returns the stored message
     * either way: the one row history keeps for that send. A concurrent insert of the same send is
     * waited for by the unique index, so the read after it sees the winner.
     */
    async claim(m: Message): Promise<Message> {
      await store(pool, [m]);
      const [row] = await db
        .select()
        .from(messages)
        .where(and(eq(messages.senderId, m.senderId), eq(messages.clientMsgId, m.clientMsgId)));
      if (!row) throw new Error(`message ${m.id} neither stored nor found`);
      return toMessage(row);
    },

    /**
     * Runs `fn` in a transaction on one pooled connection; `insert` stores a batch there with the same
     * statement, inside the savepoint `fn` is in if any: batches that also move read markers or member
     * lists, and the isolation of refused rows. Returns the ids actually inserted.
     */
    async transaction<T>(fn: (tx: Tx, insert: (batch: Message[]) => Promise<string[]>) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        let session = sessions.get(client);
        if (!session) sessions.set(client, (session = drizzle(client, { schema })));
        return await session.transaction((tx) => fn(tx, (batch) => store(client, batch)));
      } finally {
        // A connection that broke meanwhile is not queryable: the pool discards it instead of reusing it.
        client.release();
      }
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
