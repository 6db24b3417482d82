import { api, type BlockedT, type FriendT, type IncomingRequestT, type OutgoingRequestT } from '../api/endpoints';
import { directory } from './directory.svelte';

class Friends {
  list = $state<FriendT[]>([]);
  incoming = $state<IncomingRequestT[]>([]);
  outgoing = $state<OutgoingRequestT[]>([]);
  /** The users I blocked (only I know; they see it as an unfriend). */
  blocked = $state<BlockedT[]>([]);
  loaded = $state(false);

  async load(): Promise<void> {
    const [friends, requests, blocked] = await Promise.all([api.friends(), api.friendRequests(), api.blocks()]);
    // Someone no longer a friend keeps no stale "online": ask again (the server leaves out a blocked pair).
    const gone = this.list.map((f) => f.user.id).filter((id) => !friends.some((f) => f.user.id === id));
    if (gone.length) {
      for (const id of gone) directory.presence.delete(id);
      void api
        .presence(gone)
        .then((ps) => ps.forEach((p) => directory.setPresence(p)))
        .catch(() => undefined);
    }
    for (const b of blocked) {
      directory.remember(b.user);
      directory.presence.delete(b.user.id);
    }
    this.blocked = blocked.sort((a, b) => a.user.username.localeCompare(b.user.username));
    for (const f of friends) {
      directory.remember(f.user);
      directory.setPresence({ userId: f.user.id, online: f.online, lastSeenAt: f.lastSeenAt });
    }
    for (const r of requests.incoming) directory.remember(r.from);
    for (const r of requests.outgoing) directory.remember(r.to);
    this.list = friends.sort((a, b) => a.user.username.localeCompare(b.user.username));
    this.incoming = requests.incoming;
    this.outgoing = requests.outgoing;
    this.loaded = true;
  }

  isFriend(userId: string): boolean {
    return this.list.some((f) => f.user.id === userId);
  }

  isBlocked(userId: string): boolean {
    return this.blocked.some((b) => b.user.id === userId);
  }

  async unblock(userId: string): Promise<void> {
    await api.unblock(userId);
    await this.load();
  }

  async request(username: string): Promise<void> {
    await api.sendFriendRequest(username.trim().toLowerCase());
    await this.load();
  }
  async accept(id: string): Promise<void> {
    await api.acceptRequest(id);
    await this.load();
  }
  async decline(id: string): Promise<void> {
    await api.declineRequest(id);
    await this.load();
  }
  async cancel(id: string): Promise<void> {
    await api.cancelRequest(id);
    await this.load();
  }
  async unfriend(userId: string): Promise<void> {
    await api.unfriend(userId);
    await this.load();
  }
  async block(userId: string): Promise<void> {
    await api.block(userId);
    await this.load();
  }
}

export const friends = new Friends();
