import type { Message } from '@chat/contracts';
import { api } from '../api/endpoints';
import { catchUp } from '../chat/cursor';
import {
  addPending,
  markDiscarding,
  markFailed,
  markQueued,
  markUnsaved,
  mergeMessages,
  type ChatMessage,
} from '../chat/messages';

export const PAGE_SIZE = 50;
/** Catch-up after a disconnect reads as much as the API allows per page. */
const SYNC_PAGE_SIZE = 100;

/** The loaded history of one conversation and its sync cursor. */
export class Timeline {
  messages = $state.raw<ChatMessage[]>([]);
  hasOlder = $state(true);
  loaded = $state(false);
  loadingOlder = $state(false);
  error = $state<string | null>(null);
  /** Last message of the last history page fetched (see chat/cursor.ts); live events never move it. */
  private cursor: string | null = null;
  private syncing: Promise<void> | null = null;
  private again = false;

  constructor(readonly conversationId: string) {}

  /** Merges messages and returns those that were new. */
  merge(incoming: readonly Message[]): Message[] {
    if (incoming.length === 0) return [];
    const r = mergeMessages(this.messages, incoming);
    this.messages = r.messages;
    return r.added;
  }

  /** First load (newest page) or catch-up after the cursor; concurrent calls coalesce into one more run. */
  sync(onNew: (added: Message[]) => void = () => undefined): Promise<void> {
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        const first = this.cursor === null;
        const r = await catchUp(
          this.cursor,
          (q) => api.history(this.conversationId, { ...q, limit: first ? PAGE_SIZE : SYNC_PAGE_SIZE }),
          (page) => onNew(this.merge(page)),
          { limit: first ? PAGE_SIZE : SYNC_PAGE_SIZE },
        );
        this.cursor = r.cursor;
        if (first) this.hasOlder = r.hasOlder ?? false;
        this.loaded = true;
        this.error = null;
      } while (this.again);
    })().finally(() => (this.syncing = null));
    return this.syncing;
  }

  /** One page back from the oldest message held. */
  async loadOlder(): Promise<void> {
    if (this.loadingOlder || !this.hasOlder) return;
    const oldest = this.messages.find((m) => m.id)?.id;
    if (!oldest) {
      this.hasOlder = false;
      return;
    }
    this.loadingOlder = true;
    try {
      const page = await api.history(this.conversationId, { before: oldest, limit: PAGE_SIZE });
      this.merge(page.messages);
      this.hasOlder = page.hasMore;
    } finally {
      this.loadingOlder = false;
    }
  }

  addPending(m: Omit<ChatMessage, 'status' | 'id'>, status: 'pending' | 'queued' | 'failed' = 'pending'): void {
    this.messages = addPending(this.messages, m, status);
  }

  fail(senderId: string, clientMsgId: string, error: string): void {
    this.messages = markFailed(this.messages, senderId, clientMsgId, error);
  }

  queue(senderId: string, clientMsgId: string): void {
    this.messages = markQueued(this.messages, senderId, clientMsgId);
  }

  /** An unsent message being discarded (`true`), or whose discard failed (`{ error }`): still shown. */
  markDiscarding(senderId: string, clientMsgId: string, state: true | { error: string }): void {
    this.messages = markDiscarding(this.messages, senderId, clientMsgId, state);
  }

  /** An unsent message the browser's storage did not keep (`true`: a reload would lose it), or kept after all. */
  markUnsaved(senderId: string, clientMsgId: string, unsaved: boolean): void {
    this.messages = markUnsaved(this.messages, senderId, clientMsgId, unsaved);
  }

  /** Drops an unsent message (the user discarded it). */
  discard(senderId: string, clientMsgId: string): void {
    this.messages = this.messages.filter((m) => m.id || m.senderId !== senderId || m.clientMsgId !== clientMsgId);
  }

  /** Pages back until `id` (exclusive) is covered or `maxPages` pages were read: the first unread of a long backlog. */
  async loadBackTo(id: string | null, maxPages: number): Promise<void> {
    for (let i = 0; i < maxPages && this.hasOlder; i++) {
      const oldest = this.messages.find((m) => m.id)?.id;
      if (!oldest || (id && oldest <= id)) return;
      await this.loadOlder();
    }
  }

  /** The newest message the server holds: what "read up to here" points at. */
  lastServerId(): string | null {
    for (let i = this.messages.length - 1; i >= 0; i--) {
      const id = this.messages[i]!.id;
      if (id) return id;
    }
    return null;
  }
}
