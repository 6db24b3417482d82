import { SvelteMap } from 'svelte/reactivity';
import type { Presence, User } from '@chat/contracts';
import type { KnownUser } from '../chat/conversations';

/**
 * Names and presence of the people the client has met (friends, requests, searches). The public
 * API has no "user by id" route, so a room member never met shows as a short id.
 */
export class Directory {
  users = new SvelteMap<string, KnownUser>();
  presence = new SvelteMap<string, Presence>();

  remember(u: Pick<User, 'id' | 'username' | 'displayName'>): void {
    const had = this.users.get(u.id);
    if (!had || had.username !== u.username || had.displayName !== u.displayName) {
      this.users.set(u.id, { id: u.id, username: u.username, displayName: u.displayName });
    }
  }

  setPresence(p: Presence): void {
    this.presence.set(p.userId, p);
  }

  /** The name of someone met, or null. */
  known(id: string): string | null {
    const u = this.users.get(id);
    return u?.displayName || u?.username || null;
  }

  name(id: string): string {
    const u = this.users.get(id);
    return u?.displayName || u?.username || `user ${id.slice(0, 8)}`;
  }
}

export const directory = new Directory();
