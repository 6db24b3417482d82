import { sql } from 'drizzle-orm';
import type { Presence } from '@chat/contracts';
import type { Executor } from '../repositories/types';

/** A Postgres array literal of validated uuids (drizzle would expand a JS array into a list). */
const uuidArray = (ids: string[]) => `{${ids.join(',')}}`;

interface Row extends Record<string, unknown> {
  user_id: string;
  last_seen_at: Date | string | null;
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());
const toPresence = (r: Row, online: boolean): Presence => ({
  userId: r.user_id,
  online,
  lastSeenAt: iso(r.last_seen_at),
});

const live = sql`exists (select 1 from accounts.presence_sessions s where s.user_id = p.user_id and s.expires_at > now())`;

/**
 * Presence sessions and transitions, all in SQL so that concurrent accounts instances agree: every
 * transition is an UPDATE whose WHERE re-checks the state it changes, so only one of them returns it.
 */
export function createPresenceRepository(db: Executor) {
  return {
    /** A gateway holds (again) a socket of the user: the session lives at least `ttlMs` from now (never shortened). */
    async touch(gatewayId: string, userIds: string[], ttlMs: number): Promise<void> {
      if (!userIds.length) return;
      await db.execute(sql`
        insert into accounts.presence_sessions (user_id, gateway_id, expires_at)
        select u, ${gatewayId}, now() + ${ttlMs} * interval '1 millisecond' from unnest(${uuidArray(userIds)}::uuid[]) u
        on conflict (user_id, gateway_id) do update set expires_at = greatest(presence_sessions.expires_at, excluded.expires_at)`);
    },

    async drop(gatewayId: string, userId: string): Promise<void> {
      await db.execute(
        sql`delete from accounts.presence_sessions where gateway_id = ${gatewayId} and user_id = ${userId}`,
      );
    },

    /** A heartbeat is the gateway's full list: its sessions of anyone else are gone. Returns those users. */
    async dropAllBut(gatewayId: string, userIds: string[]): Promise<string[]> {
      const { rows } = await db.execute<{ user_id: string }>(sql`
        delete from accounts.presence_sessions
        where gateway_id = ${gatewayId} and not (user_id = any(${uuidArray(userIds)}::uuid[])) returning user_id`);
      return rows.map((r) => r.user_id);
    },

    /**
     * Decides the users' transitions after their sessions changed. Going online is immediate (and
     * cancels a pending offline); going offline only marks `offline_pending_since`, which `finalize`
     * turns into the transition after the grace, so a reconnect inside it makes no event at all.
     * Returns the users who just went online.
     */
    async reconcile(userIds: string[]): Promise<Presence[]> {
      if (!userIds.length) return [];
      const ids = uuidArray([...new Set(userIds)].sort());
      await db.execute(sql`
        insert into accounts.presence (user_id) select u.id from accounts.users u where u.id = any(${ids}::uuid[])
        on conflict (user_id) do nothing`);
      await db.execute(sql`
        update accounts.presence p set offline_pending_since = null
        where p.user_id = any(${ids}::uuid[]) and p.online and p.offline_pending_since is not null and ${live}`);
      const { rows } = await db.execute<Row>(sql`
        update accounts.presence p set online = true, offline_pending_since = null
        where p.user_id = any(${ids}::uuid[]) and not p.online and ${live}
        returning p.user_id, p.last_seen_at`);
      await db.execute(sql`
        update accounts.presence p set offline_pending_since = now()
        where p.user_id = any(${ids}::uuid[]) and p.online and p.offline_pending_since is null and not ${live}`);
      return rows.map((r) => toPresence(r, true));
    },

    /**
     * The sweeper's pass: deletes expired sessions (a gateway that stopped reporting), whose users go
     * offline at once if nothing else holds them (their grace has long passed), then turns every
     * offline pending longer than `graceMs` into the transition. Returns the users who went offline.
     */
    async sweep(graceMs: number): Promise<Presence[]> {
      await db.execute(sql`
        with expired as (delete from accounts.presence_sessions where expires_at <= now() returning user_id)
        update accounts.presence p set offline_pending_since = now() - ${graceMs} * interval '1 millisecond'
        where p.user_id in (select user_id from expired) and p.online
          and (p.offline_pending_since is null or p.offline_pending_since > now() - ${graceMs} * interval '1 millisecond')
          and not ${live}`);
      const { rows } = await db.execute<Row>(sql`
        update accounts.presence p set online = false, last_seen_at = p.offline_pending_since, offline_pending_since = null
        where p.offline_pending_since is not null and p.offline_pending_since <= now() - ${graceMs} * interval '1 millisecond'
          and p.online and not ${live}
        returning p.user_id, p.last_seen_at`);
      return rows.map((r) => toPresence(r, false));
    },

    /** What the user's contacts see: online (a pending offline still counts as online) and last seen. */
    async read(userIds: string[]): Promise<Map<string, Presence>> {
      const out = new Map<string, Presence>();
      if (!userIds.length) return out;
      const { rows } = await db.execute<Row & { online: boolean }>(sql`
        select user_id, online, last_seen_at from accounts.presence where user_id = any(${uuidArray(userIds)}::uuid[])`);
      for (const r of rows) out.set(r.user_id, toPresence(r, r.online));
      return out;
    },
  };
}

/** Presence of users never seen online: offline, never seen. */
export const offline = (userId: string): Presence => ({ userId, online: false, lastSeenAt: null });
