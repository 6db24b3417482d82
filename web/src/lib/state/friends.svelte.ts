import { api, type FriendT, type IncomingRequestT, type OutgoingRequestT } from '../api/endpoints';
import { directory } from './directory.svelte';

class Friends {
  list = $state<FriendT[]>([]);
  incoming = $state<IncomingRequestT[]>([]);
  outgoing = $state<OutgoingRequestT[]>([]);
  loaded = $state(false);

  async load(): Promise<void> {
    const [friends, requests] = await Promise.all([api.friends(), api.friendRequests()]);
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
