import { api, type Invitation } from '../api/endpoints';
import { conversations } from './conversations.svelte';
import { directory } from './directory.svelte';

/** Room invitations: the ones made to me (accept or decline) and mine still pending (cancel). */
class Invitations {
  incoming = $state<Invitation[]>([]);
  outgoing = $state<Invitation[]>([]);
  loaded = $state(false);

  async load(): Promise<void> {
    const list = await api.invitations();
    for (const i of [...list.incoming, ...list.outgoing]) {
      directory.remember(i.from);
      directory.remember(i.to);
    }
    this.incoming = list.incoming;
    this.outgoing = list.outgoing;
    this.loaded = true;
  }

  /** Joins the room; resolves with its id. */
  async accept(id: string): Promise<string> {
    const c = await api.acceptInvitation(id);
    await Promise.all([this.load(), conversations.load()]);
    return c.id;
  }
  async decline(id: string): Promise<void> {
    await api.declineInvitation(id);
    await this.load();
  }
  async cancel(id: string): Promise<void> {
    await api.cancelInvitation(id);
    await this.load();
  }
}

export const invitations = new Invitations();
