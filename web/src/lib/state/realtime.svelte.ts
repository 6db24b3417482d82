import { goto } from '$app/navigation';
import type { Message } from '@chat/contracts';
import { accessToken, refreshAccessToken } from '../auth/tokens';
import { conversationTitle } from '../chat/conversations';
import { preview } from '../chat/format';
import { createSocket, isAuthRefusal, type ChatSocket } from '../socket';
import { e2e } from '../e2e/e2e.svelte';
import { conversations } from './conversations.svelte';
import { directory } from './directory.svelte';
import { friends } from './friends.svelte';
import { invitations } from './invitations.svelte';
import { outgoing } from './outgoing.svelte';
import { session } from './session.svelte';

export type ConnectionState = 'connecting' | 'connected' | 'disconnected';

/** The socket's lifecycle: connect, route server events to the stores, catch up after every reconnect. */
class Realtime {
  state = $state<ConnectionState>('connecting');
  /** True once the first connection succeeded: the banner only shows for a lost connection. */
  everConnected = $state(false);
  /** The browser says the network is gone: the banner shows even if the socket never connected. */
  networkDown = $state(false);
  private socket: ChatSocket | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private stopNetworkWatch: (() => void) | null = null;

  start(): void {
    if (this.socket || !session.user) return;
    const me = session.user.id;
    const socket = createSocket(accessToken);
    this.socket = socket;
    conversations.attach(socket, me);
    outgoing.attach(socket);

    socket.on('connect', () => {
      this.state = 'connected';
      this.everConnected = true;
      // Covers the first connect too: anything sent between the list load and the subscription.
      void conversations.syncAll().catch(() => undefined);
      void friends.load().catch(() => undefined);
      void invitations.load().catch(() => undefined);
      // The device first: an encrypted conversation's queued text waits for it rather than fail.
      void e2e.start(me);
      void outgoing.flushOutbox();
    });
    socket.on('disconnect', (reason) => {
      this.state = 'disconnected';
      outgoing.onDisconnect();
      // A server-side disconnect is not retried by socket.io by itself.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.on('connect_error', (err) => {
      this.state = 'disconnected';
      if (isAuthRefusal(err)) {
        void refreshAccessToken()
          .then((t) => (t ? socket.connect() : session.lost()))
          .catch(() => setTimeout(() => socket.connect(), 2000));
      }
    });
    socket.io.on('reconnect_attempt', () => (this.state = 'connecting'));

    socket.on('message:new', (m) => {
      if (m.kind === 'encrypted') void e2e.decrypt(m).catch(() => undefined);
      if (conversations.onMessage(m)) this.notify(m);
    });
    socket.on('typing', (e) => conversations.onTyping(e));
    socket.on('read', (e) => conversations.onRead(e));
    socket.on('presence', (p) => directory.setPresence(p));
    socket.on('friends', () => void friends.load().catch(() => undefined));
    // Made to me, or by me: accepted, declined or cancelled. The list is small: fetch it again.
    socket.on('invitation', () => void invitations.load().catch(() => undefined));
    socket.on('conversation', (e) => {
      conversations.onConversation(e);
      const id = e.conversation.id;
      // A member just made it end-to-end encrypted: this device learns it now, before its next send.
      if (e.encrypted && !e2e.isEncrypted(id))
        void e2e
          .refresh()
          .then(() => e2e.reconcile(id))
          .catch(() => undefined);
      else e2e.reconcile(id);
    });
    // A commit or welcome waits in an encrypted conversation: the device catches up now, idle or not.
    socket.on('e2e', (e) => e2e.onEvent(e));
    // The gateway lost its broker connection for a moment: live events may be missing, as after a reconnect.
    socket.on('resync', () => void conversations.syncAll().catch(() => undefined));

    this.ticker = setInterval(() => (conversations.now = Date.now()), 1000);
    // The browser knows it lost the network before the socket's heartbeat does: queue sends at once.
    const offline = () => {
      this.networkDown = true;
      this.state = 'disconnected';
      socket.disconnect();
    };
    const online = () => {
      this.networkDown = false;
      if (!socket.connected) socket.connect();
    };
    this.networkDown = navigator.onLine === false;
    window.addEventListener('offline', offline);
    window.addEventListener('online', online);
    this.stopNetworkWatch = () => {
      window.removeEventListener('offline', offline);
      window.removeEventListener('online', online);
    };
    // Unsent messages from before a reload show (and go out) again; connect once they are back.
    void outgoing.restoreOutbox().finally(() => {
      if (this.socket === socket && navigator.onLine !== false) socket.connect();
    });
  }

  stop(): void {
    this.stopNetworkWatch?.();
    this.stopNetworkWatch = null;
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
    conversations.attach(null, '');
    outgoing.attach(null);
    e2e.reset();
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.state = 'connecting';
    this.everConnected = false;
    this.networkDown = false;
  }

  /** A system notification for someone else's message while the tab is hidden (if allowed). */
  private notify(m: Message): void {
    if (m.senderId === session.user?.id || typeof Notification === 'undefined') return;
    if (Notification.permission !== 'granted' || !document.hidden) return;
    const c = conversations.get(m.conversationId);
    const title = c ? conversationTitle(c, session.user?.id ?? '', directory.users) : 'New message';
    if (m.kind === 'event') return;
    const who = directory.name(m.senderId);
    const n = new Notification(c?.kind === 'room' ? `${who} in ${title}` : title, {
      body: preview(m),
      tag: m.conversationId,
    });
    n.onclick = () => {
      window.focus();
      void goto(`/chat/${m.conversationId}`);
    };
  }
}

export const realtime = new Realtime();
