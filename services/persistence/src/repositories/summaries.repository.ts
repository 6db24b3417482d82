import type { Message } from '@chat/contracts';
import { toMessage } from './messages.repository';
import type { MessageRow } from './schema';
import type { Pool } from 'pg';

export interface Summary {
  lastMessage: Message | null;
  unreadCount: number;
  lastActivityAt: string | null;
  readMarkers: Record<string, string>;
}

/** Unread counts stop here: a badge shows "999+" long before; counting further costs a scan. */
export const UNREAD_CAP = 1000;

type SummaryRow = {
  conversation_id: string;
  id: string | null;
  sender_id: string;
  client_msg_id: string;
  kind: 'text' | 'encrypted' | 'event';
  body: string | null;
  encrypted: unknown;
  event: unknown;
  created_at: Date;
  seq: string;
  unread: number;
};

/**
 * Two set-based queries whatever the number of conversations: one walks each conversation's
 * (conversation_id, id) index for its last message and the messages after the user's marker (LATERAL,
 * capped at UNREAD_CAP), the other reads every member's marker. Unread counts are derived from history,
 * never kept as counters, so they cannot drift.
 */
export function createSummariesRepository(pool: Pool) {
  return {
    async forUser(userId: string, conversationIds: string[]): Promise<Record<string, Summary>> {
      const ids = [...new Set(conversationIds)];
      if (ids.length === 0) return {};
      const [main, markers] = await Promise.all([
        pool.query<SummaryRow>(
          `select c.id as conversation_id, lm.id, lm.sender_id, lm.client_msg_id, lm.kind, lm.body, lm.encrypted, lm.event, lm.created_at, lm.seq,
                  coalesce(u.n, 0)::int as unread
             from unnest($2::uuid[]) as c(id)
             left join persistence.read_markers rm on rm.conversation_id = c.id and rm.user_id = $1
             left join lateral (
               select m.id, m.sender_id, m.client_msg_id, m.kind, m.body, m.encrypted, m.event, m.created_at, m.seq
                 from persistence.messages m where m.conversation_id = c.id order by m.id desc limit 1
             ) lm on true
             left join lateral (
               select count(*) as n from (
                 select 1 from persistence.messages m
                  where m.conversation_id = c.id and (rm.message_id is null or m.id > rm.message_id) and m.sender_id <> $1 and m.kind <> 'event'
                  limit $3
               ) capped
             ) u on true`,
          [userId, ids, UNREAD_CAP],
        ),
        pool.query<{ conversation_id: string; user_id: string; message_id: string }>(
          'select conversation_id, user_id, message_id from persistence.read_markers where conversation_id = any($1::uuid[])',
          [ids],
        ),
      ]);
      const out: Record<string, Summary> = {};
      for (const r of main.rows) {
        const lastMessage = r.id
          ? toMessage({
              id: r.id,
              conversationId: r.conversation_id,
              senderId: r.sender_id,
              clientMsgId: r.client_msg_id,
              kind: r.kind,
              body: r.body,
              encrypted: r.encrypted,
              event: r.event,
              createdAt: r.created_at,
              seq: Number(r.seq),
              storedAt: r.created_at,
            } satisfies MessageRow)
          : null;
        out[r.conversation_id] = {
          lastMessage,
          unreadCount: r.unread,
          lastActivityAt: lastMessage?.createdAt ?? null,
          readMarkers: {},
        };
      }
      for (const m of markers.rows) {
        const s = out[m.conversation_id];
        if (s) s.readMarkers[m.user_id] = m.message_id;
      }
      return out;
    },
  };
}
export type SummariesRepository = ReturnType<typeof createSummariesRepository>;
