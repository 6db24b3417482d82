import { SvelteMap } from 'svelte/reactivity';
import type { Conversation, ConversationEvent, Message, ReadEvent, TypingEvent } from '@chat/contracts';
import { api } from '../api/endpoints';
import { describeError } from '../chat/errors';
import {
  applyMessage,
  applyRead,
  reapplyLive,
  removeConversation,
  setUnread,
  sortConversations,
  upsertConversation,
} from '../chat/conversations';
import { applyTyping, typers, type TypingMap } from '../chat/typing';
import { countUnread, firstUnreadId, maxId, totalUnread, unreadAfterMessage } from '../chat/unread';
import type { ChatSocket } from '../socket';
import { directory } from './directory.svelte';
import { e2e } from '../e2e/e2e.svelte';
import { Timeline } from './timeline.svelte';

/**
 * Conversations, their timelines, typing and read markers: everything the socket events change.
 * Sending (the outbox, acks, the rate-limit hold) is outgoing.svelte.ts.
 */
class Conversations {
  list = $state.raw<Conversation[]>([]);
  loaded = $state(false);
  /** The conversation on screen (null on the list or friends page). */
  activeId = $state<string | null>(null);
  /** Whether the user can see the page: the tab is visible AND focused ("Seen" means really seen). */
  visible = $state(true);
  /** Per open conversation: the message the "New messages" divider precedes (fixed when it opened). */
  dividers = new SvelteMap<string, string | null>();
  /** Rooms the user was removed from (or left elsewhere) during this session: id -> title. */
  removed = new SvelteMap<string, string | null>();
  typing = $state.raw<TypingMap>({});
  now = $state(Date.now());
  timelines = new SvelteMap<string, Timeline>();
  me = '';
  private socket: ChatSocket | null = null;
  private readSent = new Map<string, string>();
  /** The newest server message the reader has had on screen, per conversation (see message-list). */
  private seenUpTo = new Map<string, string>();
  /** One buffer per list request in flight: the live messages that arrived meanwhile (see reapplyLive). */
  private liveDuringLoad = new Set<Message[]>();

  totalUnread = $derived(totalUnread(this.list));

  attach(socket: ChatSocket | null, me: string): void {
    this.socket = socket;
    this.me = me;
  }

  reset(): void {
    this.list = [];
    this.loaded = false;
    this.loading = null;
    this.activeId = null;
    this.typing = {};
    this.timelines.clear();
    this.readSent.clear();
    this.seenUpTo.clear();
    this.dividers.clear();
    this.removed.clear();
  }

  get(id: string): Conversation | undefined {
    return this.list.find((c) => c.id === id);
  }

  timeline(id: string): Timeline {
    let t = this.timelines.get(id);
    if (!t) {
      t = new Timeline(id);
      this.timelines.set(id, t);
    }
    return t;
  }

  private loading: Promise<void> | null = null;

  load(): Promise<void> {
    const p = this.doLoad();
    this.loading = p;
    return p;
  }

  /** The list as the server has it (the unread count and read marker decide the divider). */
  private whenLoaded(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    return (this.loading ?? this.load()).catch(() => undefined);
  }

  private async doLoad(): Promise<void> {
    const live: Message[] = [];
    this.liveDuringLoad.add(live);
    let list: Conversation[];
    try {
      list = await api.conversations();
    } finally {
      this.liveDuringLoad.delete(live);
    }
    // A room that was listed and is gone: I was removed while my socket was away (the event that says
    // so went to no socket of mine), so the room's page says it like the live event would.
    if (this.loaded) {
      const now = new Set(list.map((c) => c.id));
      for (const c of this.list) if (c.kind === 'room' && !now.has(c.id)) this.removed.set(c.id, c.title);
    }
    this.list = sortConversations(reapplyLive(list, live, this.me));
    this.loaded = true;
    this.rememberMembers(list);
    void this.loadPresence();
    // The open conversation's count follows what is on screen, not the snapshot.
    if (this.activeId) this.markRead(this.activeId);
  }

  /** Members carry their names: a co-member who is not a friend shows by name, not as an id. */
  private rememberMembers(list: readonly Pick<Conversation, 'members'>[]): void {
    for (const c of list) {
      for (const m of c.members)
        if (m.username)
          directory.remember({ id: m.userId, username: m.username, displayName: m.displayName ?? m.username });
    }
  }

  /** Presence of co-members who are not friends (friends come with their presence). */
  private async loadPresence(): Promise<void> {
    const ids = [...new Set(this.list.flatMap((c) => c.members.map((m) => m.userId)))].filter(
      (id) => id !== this.me && !directory.presence.has(id),
    );
    for (let i = 0; i < ids.length; i += 200) {
      const got = await api.presence(ids.slice(i, i + 200)).catch(() => []);
      for (const p of got) directory.setPresence(p);
    }
  }

  /** After a (re)connect: the list again, then every loaded timeline from its cursor. */
  async syncAll(): Promise<void> {
    await this.load();
    await Promise.all([...this.timelines.values()].filter((t) => t.loaded).map((t) => t.sync().catch(() => undefined)));
    if (this.activeId) this.markRead(this.activeId);
  }

  async open(id: string): Promise<void> {
    this.activeId = id;
    // Whether it became end-to-end encrypted (by another member), and its devices up to date.
    void e2e
      .refresh()
      .then(() => e2e.reconcile(id))
      .catch(() => undefined);
    await this.whenLoaded();
    if (this.activeId !== id) return;
    const c = this.get(id);
    // What was unread when the conversation opened decides where the "New messages" divider sits.
    const unread = c?.unreadCount ?? 0;
    const lastRead = c?.members.find((m) => m.userId === this.me)?.lastReadMessageId ?? null;
    const t = this.timeline(id);
    try {
      if (!t.loaded) await t.sync();
      // A long backlog: page back (a few pages at most) so the divider is on a loaded message.
      if (unread > 0) await t.loadBackTo(lastRead, 4);
    } catch (err) {
      t.error = describeError(err);
      return;
    }
    if (this.activeId === id) this.dividers.set(id, unread > 0 ? firstUnreadId(t.messages, this.me, lastRead) : null);
    this.markRead(id);
  }

  close(id: string): void {
    if (this.activeId === id) this.activeId = null;
    this.dividers.delete(id);
    this.seenUpTo.delete(id);
  }

  /** The message list reports the newest server message on screen; reading follows it. */
  setSeen(id: string, messageId: string | null): void {
    // Until open() has placed the divider the view is not where the reader will be: nothing counts yet.
    if (!messageId || !this.dividers.has(id)) return;
    const had = this.seenUpTo.get(id);
    if (had && had >= messageId) return;
    this.seenUpTo.set(id, messageId);
    this.markRead(id);
  }

  /**
   * The user has seen the open conversation up to the newest message that was on screen while the tab
   * was visible and focused: tell the server (once per id), so the sender's "Seen" is true.
   */
  markRead(id: string): void {
    if (this.activeId !== id || !this.visible) return;
    const t = this.timelines.get(id);
    const c = this.get(id);
    const seen = this.seenUpTo.get(id);
    if (!t || !c || !seen) return;
    const last = t.lastServerId();
    const upTo = last && last < seen ? last : seen;
    const left = last && upTo >= last ? 0 : countUnread(t.messages, this.me, upTo);
    if (c.unreadCount !== left) this.list = setUnread(this.list, id, Math.min(c.unreadCount, left));
    const mine = c.members.find((m) => m.userId === this.me)?.lastReadMessageId ?? null;
    const known = maxId(mine, this.readSent.get(id));
    if (known && known >= upTo) return;
    this.readSent.set(id, upTo);
    this.list = applyRead(this.list, id, this.me, upTo);
    this.socket?.emit('read', { conversationId: id, messageId: upTo });
  }

  /** A `message:new` (or an ack): merge it, count it, and report whether it was new. */
  onMessage(m: Message): boolean {
    const c = this.get(m.conversationId);
    // Every conversation keeps its live messages, opened or not: opened within the moment a message takes
    // to be committed, its first history page lacks it, and the message never showed (CI: a room message
    // in the list's preview, not in the room) until the next sync.
    const t = this.timeline(m.conversationId);
    if (!c) {
      // A conversation we have not seen yet (a new room or direct chat): fetch the list.
      t.merge([m]);
      void this.load().catch(() => undefined);
      for (const buffer of this.liveDuringLoad) buffer.push(m);
      return true;
    }
    for (const buffer of this.liveDuringLoad) buffer.push(m);
    let isNew: boolean;
    if (t.loaded) isNew = t.merge([m]).length > 0;
    else {
      // A timeline not loaded yet (or loading its first page) keeps the message too: that page may have
      // been read before this message committed, and an acked send would otherwise stay "Sending…".
      // Whether it is new is told by the list's newest message (the server counted those up to it).
      t.merge([m]);
      isNew = !c.lastMessage || m.id > c.lastMessage.id;
    }
    // Counted unread until the message list reports it on screen (then markRead settles the count).
    this.list = applyMessage(this.list, m, (conv) =>
      isNew ? unreadAfterMessage(conv.unreadCount, m, this.me, false) : conv.unreadCount,
    );
    if (isNew && m.senderId !== this.me && m.kind !== 'event')
      this.typing = applyTyping(
        this.typing,
        { conversationId: m.conversationId, userId: m.senderId, typing: false },
        Date.now(),
      );
    if (this.activeId === m.conversationId) this.markRead(m.conversationId);
    return isNew;
  }

  onRead(e: ReadEvent): void {
    this.list = applyRead(this.list, e.conversationId, e.userId, e.messageId);
    // Read on another of my devices: nothing there is unread any more.
    if (e.userId === this.me) {
      const c = this.get(e.conversationId);
      if (c?.lastMessage && e.messageId >= c.lastMessage.id) this.list = setUnread(this.list, e.conversationId, 0);
    }
  }

  onTyping(e: TypingEvent): void {
    this.typing = applyTyping(this.typing, e, Date.now());
    this.now = Date.now();
  }

  typersOf(conversationId: string): string[] {
    return typers(this.typing, conversationId, this.me, this.now);
  }

  onConversation(e: ConversationEvent): void {
    const conv = e.conversation;
    const stillMember = conv.members.some((m) => m.userId === this.me);
    if (!stillMember) {
      if (conv.kind === 'room') this.removed.set(conv.id, conv.title);
      this.list = removeConversation(this.list, conv.id);
      return;
    }
    this.removed.delete(conv.id);
    this.list = upsertConversation(this.list, conv);
    this.rememberMembers([conv]);
    void this.loadPresence();
  }

  sendTyping(conversationId: string, typing: boolean): void {
    this.socket?.emit('typing', { conversationId, typing });
  }
}

export const conversations = new Conversations();
