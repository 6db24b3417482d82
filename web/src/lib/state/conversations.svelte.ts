import { SvelteMap } from 'svelte/reactivity';
import type { Ack, Conversation, ConversationEvent, Message, ReadEvent, TypingEvent } from '@chat/contracts';
import { api } from '../api/endpoints';
import { describeError } from '../chat/errors';
import { ApiError } from '../chat/errors';
import {
  applyMessage,
  applyRead,
  removeConversation,
  setUnread,
  sortConversations,
  upsertConversation,
} from '../chat/conversations';
import { applyTyping, typers, type TypingMap } from '../chat/typing';
import { maxId, totalUnread, unreadAfterMessage } from '../chat/unread';
import type { ChatSocket } from '../socket';
import { ACK_TIMEOUT_MS } from '../socket';
import { directory } from './directory.svelte';
import { Timeline } from './timeline.svelte';

/** Conversations, their timelines, typing and read markers: everything the socket events change. */
class Conversations {
  list = $state.raw<Conversation[]>([]);
  loaded = $state(false);
  /** The conversation on screen (null on the list or friends page). */
  activeId = $state<string | null>(null);
  /** Whether the user can see the page (tab visible and focused enough to read). */
  visible = $state(true);
  typing = $state.raw<TypingMap>({});
  now = $state(Date.now());
  timelines = new SvelteMap<string, Timeline>();
  me = '';
  private socket: ChatSocket | null = null;
  private readSent = new Map<string, string>();

  totalUnread = $derived(totalUnread(this.list));

  attach(socket: ChatSocket | null, me: string): void {
    this.socket = socket;
    this.me = me;
  }

  reset(): void {
    this.list = [];
    this.loaded = false;
    this.activeId = null;
    this.typing = {};
    this.timelines.clear();
    this.readSent.clear();
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

  async load(): Promise<void> {
    const list = await api.conversations();
    this.list = sortConversations(list);
    this.loaded = true;
    void this.loadPresence();
  }

  /** Presence of co-members who are not friends (friends come with their presence). */
  private async loadPresence(): Promise<void> {
    const ids = [...new Set(this.list.flatMap((c) => c.members.map((m) => m.userId)))].filter((id) => id !== this.me && !directory.presence.has(id));
    for (let i = 0; i < ids.length; i += 200) {
      const got = await api.presence(ids.slice(i, i + 200)).catch(() => []);
      for (const p of got) directory.setPresence(p);
    }
  }

  /** After a (re)connect: the list again, then every loaded timeline from its cursor. */
  async syncAll(): Promise<void> {
    await this.load();
    await Promise.all(
      [...this.timelines.values()].filter((t) => t.loaded).map((t) => t.sync().catch(() => undefined)),
    );
    if (this.activeId) this.markRead(this.activeId);
  }

  async open(id: string): Promise<void> {
    this.activeId = id;
    const t = this.timeline(id);
    if (!t.loaded) {
      try {
        await t.sync();
      } catch (err) {
        t.error = describeError(err);
        return;
      }
    }
    this.markRead(id);
  }

  close(id: string): void {
    if (this.activeId === id) this.activeId = null;
  }

  /** The user sees the newest messages of the open conversation: tell the server (once per id). */
  markRead(id: string): void {
    if (this.activeId !== id || !this.visible) return;
    const t = this.timelines.get(id);
    const last = t?.lastServerId();
    const c = this.get(id);
    if (!last || !c) return;
    if (c.unreadCount) this.list = setUnread(this.list, id, 0);
    const mine = c.members.find((m) => m.userId === this.me)?.lastReadMessageId ?? null;
    const known = maxId(mine, this.readSent.get(id));
    if (known && known >= last) return;
    this.readSent.set(id, last);
    this.list = applyRead(this.list, id, this.me, last);
    this.socket?.emit('read', { conversationId: id, messageId: last });
  }

  /** A `message:new` (or an ack): merge it, count it, and report whether it was new. */
  onMessage(m: Message): boolean {
    const c = this.get(m.conversationId);
    const t = this.timelines.get(m.conversationId);
    if (!c) {
      // A conversation we have not seen yet (a new room or direct chat): fetch the list.
      t?.merge([m]);
      void this.load().catch(() => undefined);
      return true;
    }
    let isNew: boolean;
    if (t?.loaded) isNew = t.merge([m]).length > 0;
    else {
      // A timeline still loading its first page keeps the message too: that page may have been read
      // before this message committed, and an acked send would otherwise stay "Sending…" for good.
      t?.merge([m]);
      isNew = !c.lastMessage || m.id > c.lastMessage.id;
    }
    const seenNow = this.activeId === m.conversationId && this.visible;
    this.list = applyMessage(this.list, m, (conv) => (isNew ? unreadAfterMessage(conv.unreadCount, m, this.me, seenNow) : conv.unreadCount));
    if (isNew && m.senderId !== this.me) this.typing = applyTyping(this.typing, { conversationId: m.conversationId, userId: m.senderId, typing: false }, Date.now());
    if (seenNow) this.markRead(m.conversationId);
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
      this.list = removeConversation(this.list, conv.id);
      return;
    }
    this.list = upsertConversation(this.list, conv);
    void this.loadPresence();
  }

  /** Sends a text message optimistically; the same clientMsgId is reused by `retry`. */
  send(conversationId: string, body: string): void {
    const clientMsgId = crypto.randomUUID();
    this.dispatch(conversationId, clientMsgId, body);
  }

  retry(conversationId: string, clientMsgId: string): void {
    const m = this.timelines.get(conversationId)?.messages.find((x) => x.clientMsgId === clientMsgId && !x.id);
    if (m?.body !== undefined) this.dispatch(conversationId, clientMsgId, m.body, m.createdAt);
  }

  private dispatch(conversationId: string, clientMsgId: string, body: string, createdAt = new Date().toISOString()): void {
    const t = this.timeline(conversationId);
    t.addPending({ conversationId, clientMsgId, senderId: this.me, createdAt, kind: 'text', body });
    const socket = this.socket;
    if (!socket?.connected) {
      t.fail(this.me, clientMsgId, 'Not connected');
      return;
    }
    socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck('message:send', { conversationId, clientMsgId, body })
      .then((ack: Ack<{ message: Message }>) => {
        if (ack.ok) this.onMessage(ack.message);
        else t.fail(this.me, clientMsgId, describeError(new ApiError(ack.error.code, ack.error.message, 0, ack.error.retryAfterMs), 'send'));
      })
      .catch(() => t.fail(this.me, clientMsgId, 'No answer from the server'));
  }

  sendTyping(conversationId: string, typing: boolean): void {
    this.socket?.emit('typing', { conversationId, typing });
  }
}

export const conversations = new Conversations();
