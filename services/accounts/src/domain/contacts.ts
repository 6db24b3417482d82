import { sql } from 'drizzle-orm';
import type { Executor } from '../repositories/types';

/**
 * Friends and everyone sharing a conversation with each user: who may see their presence. With
 * `maxRoomSize`, co-members count only through conversations of at most that many members: pushing
 * every change to every member of big rooms is quadratic (1,000 members connecting make a million
 * events), so there clients ask `GET /api/v1/presence` for the members they show.
 * A blocked pair is never a contact, in either direction: presence must not reach someone the user
 * blocked (and the blocker has no use for theirs), even while they still share a conversation.
 * Three set-based queries for any number of users (a burst of presence changes is one call).
 */
export async function contactIdsOf(
  db: Executor,
  userIds: string[],
  maxRoomSize?: number,
): Promise<Record<string, string[]>> {
  const out: Record<string, Set<string>> = Object.fromEntries(userIds.map((id) => [id, new Set<string>()]));
  if (userIds.length === 0) return {};
  const ids = sql`array[${sql.join(
    userIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  )}]`;
  const friends = await db.execute<{ me: string; other: string }>(sql`
    select user_a as me, user_b as other from accounts.friendships where user_a = any(${ids})
    union all
    select user_b as me, user_a as other from accounts.friendships where user_b = any(${ids})`);
  const sizeLimit = maxRoomSize === undefined ? sql`` : sql`having count(*) <= ${maxRoomSize}`;
  const coMembers = await db.execute<{ me: string; other: string }>(sql`
    with mine as (
      select user_id as me, conversation_id from accounts.conversation_members where user_id = any(${ids})
    ), eligible as (
      select conversation_id from accounts.conversation_members
      where conversation_id in (select conversation_id from mine)
      group by conversation_id ${sizeLimit}
    )
    select distinct mine.me, o.user_id as other
    from mine
    join eligible using (conversation_id)
    join accounts.conversation_members o on o.conversation_id = mine.conversation_id
    where o.user_id <> mine.me`);
  const blocked = await db.execute<{ me: string; other: string }>(sql`
    select blocker_id as me, blocked_id as other from accounts.blocks where blocker_id = any(${ids})
    union all
    select blocked_id as me, blocker_id as other from accounts.blocks where blocked_id = any(${ids})`);
  const hidden = new Set(blocked.rows.map((r) => `${r.me}/${r.other}`));
  for (const r of [...friends.rows, ...coMembers.rows])
    if (r.me !== r.other && !hidden.has(`${r.me}/${r.other}`)) out[r.me]?.add(r.other);
  return Object.fromEntries(Object.entries(out).map(([id, set]) => [id, [...set].sort()]));
}

export async function contactIds(db: Executor, userId: string, maxRoomSize?: number): Promise<string[]> {
  return (await contactIdsOf(db, [userId], maxRoomSize))[userId] ?? [];
}
