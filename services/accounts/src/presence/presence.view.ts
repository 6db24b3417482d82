import type { Presence } from '@chat/contracts';
import type { Executor } from '../repositories/types';
import { createPresenceRepository, offline } from './presence.repository';

/** The presence of each user, in order; users never seen online read offline with no last seen. */
export async function presenceOf(db: Executor, userIds: string[]): Promise<Presence[]> {
  const known = await createPresenceRepository(db).read(userIds);
  return userIds.map((id) => known.get(id) ?? offline(id));
}

/** Fills a friend view's `online` and `lastSeenAt` from the stored presence. */
export async function withPresence<V extends { user: { id: string }; online: boolean; lastSeenAt: string | null }>(
  db: Executor,
  views: V[],
): Promise<V[]> {
  const ps = await presenceOf(
    db,
    views.map((v) => v.user.id),
  );
  return views.map((v, i) => ({ ...v, online: ps[i]!.online, lastSeenAt: ps[i]!.lastSeenAt }));
}
