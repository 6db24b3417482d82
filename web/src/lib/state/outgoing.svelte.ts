import type { Ack, Message } from '@chat/contracts';
import { ApiError, describeError } from '../chat/errors';
import { holdDelay } from '../chat/outgoing';
import { outbox, type OutboxEntry } from '../offline/outbox';
import type { ChatSocket } from '../socket';
import { ACK_TIMEOUT_MS } from '../socket';
import { e2e } from '../e2e/e2e.svelte';
import { conversations } from './conversations.svelte';

/** After an ack timeout on a socket that still looks connected, one automatic resend after this pause. */
const RESEND_AFTER_MS = 3000;

/** What sending needs of the conversation store: who I am, the timelines, and where an ack's message goes. */
export type SendTarget = Pick<typeof conversations, 'me' | 'timelines' | 'timeline' | 'onMessage'>;

/**
 * Sending: the offline outbox, one attempt at a time per message, ack timeouts with one automatic
 * resend, end-to-end encryption of what goes out, and the hold after the server's rate limit.
 */
class Outgoing {
  private socket: ChatSocket | null = null;
  /** The latest send attempt per clientMsgId: the outcome of an older attempt is ignored. */
  private attempts = new Map<string, number>();
  private attemptSeq = 0;
  /** Sends already retried once by themselves after an ack timeout on a live socket. */
  private resent = new Set<string>();
  /**
   * Messages written in this page and not sent yet, or refused for a reason that says nothing was
   * accepted (RATE_LIMITED, VALIDATION...): their next attempt goes out as a first one. Any other (after
   * no answer or UNAVAILABLE, or an outbox entry a reload found) says `resend: true`: an earlier attempt
   * may have been stored without an answer, and the server then acks the id history keeps.
   */
  private unsent = new Set<string>();

  /** The server's send rate limit refused a message: sends wait (queued, in order) until this time. */
  sendsHeld = $state(false);
  private holdUntil = 0;
  private holdTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly store: SendTarget) {}

  private get me(): string {
    return this.store.me;
  }

  attach(socket: ChatSocket | null): void {
    this.socket = socket;
  }

  reset(): void {
    this.attempts.clear();
    this.resent.clear();
    this.unsent.clear();
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = null;
    this.holdUntil = 0;
    this.sendsHeld = false;
  }

  /**
   * Sends a text message optimistically. It is written to the offline outbox first: without a
   * connection it waits there (and survives a reload) and goes out by itself on reconnect, always with
   * its original clientMsgId, so the server stores it once however many times it is sent. The send does
   * not wait for that write: if storage refuses it, the message still goes out while the page is open
   * (the outbox keeps it in memory) and says that a reload would lose it.
   */
  send(conversationId: string, body: string): void {
    const entry: OutboxEntry = {
      clientMsgId: crypto.randomUUID(),
      senderId: this.me,
      conversationId,
      body,
      createdAt: new Date().toISOString(),
      ...(e2e.isEncrypted(conversationId) ? { e2e: true } : {}),
    };
    this.unsent.add(entry.clientMsgId);
    this.keep(entry);
    this.dispatch(entry);
  }

  retry(conversationId: string, clientMsgId: string): void {
    const m = this.store.timelines.get(conversationId)?.messages.find((x) => x.clientMsgId === clientMsgId && !x.id);
    if (m?.body === undefined) return;
    const entry: OutboxEntry = {
      clientMsgId,
      senderId: this.me,
      conversationId,
      body: m.body,
      createdAt: m.createdAt,
      ...(e2e.isEncrypted(conversationId) ? { e2e: true } : {}),
    };
    this.keep(entry);
    this.dispatch(entry);
  }

  /**
   * Writes an entry to the outbox, then runs `written` (if any); when storage refused, the message says a
   * reload would lose it. `outbox.put` never rejects.
   */
  private keep(e: OutboxEntry, written?: () => void): void {
    void outbox.put(e).then((saved) => {
      written?.();
      this.store.timelines.get(e.conversationId)?.markUnsaved(this.me, e.clientMsgId, !saved);
    });
  }

  /**
   * Gives up on an unsent message. It leaves the screen only once the outbox no longer holds it: a
   * reload right after could otherwise bring it back (and a refused one has Retry; a queued one would
   * even go out by itself). Until then it shows "Discarding…"; if storage refuses, it stays, failed,
   * and says that it could not be discarded.
   */
  async discard(conversationId: string, clientMsgId: string): Promise<void> {
    const t = this.store.timelines.get(conversationId);
    const m = t?.messages.find((x) => x.senderId === this.me && x.clientMsgId === clientMsgId && !x.id);
    if (!t || !m || m.discarding) return;
    t.markDiscarding(this.me, clientMsgId, true);
    try {
      await outbox.delete(clientMsgId);
    } catch (err) {
      t.markDiscarding(this.me, clientMsgId, { error: storageError(err) });
      return;
    }
    this.attempts.delete(clientMsgId);
    t.discard(this.me, clientMsgId);
  }

  /** After a reload: the user's unsent messages back in their timelines (waiting, or refused). */
  async restoreOutbox(): Promise<void> {
    for (const e of await outbox.of(this.me)) {
      this.store.timeline(e.conversationId).addPending(
        {
          conversationId: e.conversationId,
          clientMsgId: e.clientMsgId,
          senderId: e.senderId,
          createdAt: e.createdAt,
          kind: 'text',
          body: e.body,
          ...(e.error ? { error: e.error } : {}),
          ...(outbox.onlyHere(e.clientMsgId) ? { unsaved: true } : {}),
        },
        e.error ? 'failed' : 'queued',
      );
    }
  }

  /** On (re)connect: everything waiting in the outbox goes out, oldest first. */
  async flushOutbox(): Promise<void> {
    for (const e of await outbox.of(this.me)) {
      if (!e.error && !this.attempts.has(e.clientMsgId)) this.dispatch(e);
    }
  }

  /** The connection dropped: sends still waiting for an ack go out again on reconnect. */
  onDisconnect(): void {
    for (const t of this.store.timelines.values()) {
      for (const m of t.messages) {
        if (m.status === 'pending') {
          this.attempts.delete(m.clientMsgId);
          t.queue(this.me, m.clientMsgId);
        }
      }
    }
  }

  private dispatch(e: OutboxEntry): void {
    const { conversationId, clientMsgId, body } = e;
    const t = this.store.timeline(conversationId);
    const socket = this.socket;
    const online = !!socket?.connected && !this.sendsHeld;
    t.addPending(
      {
        conversationId,
        clientMsgId,
        senderId: this.me,
        createdAt: e.createdAt,
        kind: 'text',
        body,
        // Kept in this page only (storage refused the outbox write): the message keeps saying so.
        ...(outbox.onlyHere(clientMsgId) ? { unsaved: true } : {}),
      },
      online ? 'pending' : 'queued',
    );
    if (!socket || !online) return;
    const resend = !this.unsent.delete(clientMsgId);
    const attempt = ++this.attemptSeq;
    this.attempts.set(clientMsgId, attempt);
    const current = () => this.attempts.get(clientMsgId) === attempt;
    // "Not sent" shows once the outbox says so too: a reload in between would otherwise find the entry
    // still waiting and send it again by itself. (Storage that fails keeps the refusal in memory: the
    // screen still says what the server answered, and that it is not kept.)
    const refused = (error: string) => this.keep({ ...e, error }, () => t.fail(this.me, clientMsgId, error));
    // An end-to-end encrypted conversation gets the text encrypted on this device (lib/e2e); a resend
    // encrypts again (same clientMsgId: the server keeps the first copy it accepted). An entry written
    // in an encrypted conversation says so itself: after a reload it may go out before the list of
    // encrypted conversations is known again, and must not go out in clear.
    const payload =
      e.e2e || e2e.isEncrypted(conversationId)
        ? e2e
            .encrypt(conversationId, clientMsgId, body)
            .then((encrypted) => ({ conversationId, clientMsgId, encrypted }))
        : Promise.resolve({ conversationId, clientMsgId, body });
    payload
      .then(
        (p) => socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:send', resend ? { ...p, resend } : p),
        (err: Error) => {
          if (current()) {
            this.attempts.delete(clientMsgId);
            refused(`Not encrypted: ${err.message}`);
          }
          return null;
        },
      )
      .then((ack: Ack<{ message: Message }> | null) => {
        if (!ack || !current()) return;
        this.attempts.delete(clientMsgId);
        this.resent.delete(clientMsgId);
        // A refusal other than UNAVAILABLE says nothing was accepted: the next attempt is a first one again.
        if (!ack.ok && ack.error.code !== 'UNAVAILABLE') this.unsent.add(clientMsgId);
        if (ack.ok) {
          // Shown sent at once (it is); an entry a reload finds still there just goes out again with
          // its clientMsgId, and the server answers with the message it holds: no second copy.
          void outbox.delete(clientMsgId).catch(() => undefined);
          this.store.onMessage(ack.message);
        } else if (ack.error.code === 'RATE_LIMITED') {
          // Typing faster than the server allows is not a failure: the message waits and goes out by
          // itself, in order with the ones after it, once the server said it may.
          t.queue(this.me, clientMsgId);
          this.holdSends(ack.error.retryAfterMs);
        } else
          refused(describeError(new ApiError(ack.error.code, ack.error.message, 0, ack.error.retryAfterMs), 'send'));
      })
      .catch(() => {
        if (!current()) return;
        this.attempts.delete(clientMsgId);
        // No ack: the connection may be dead without the socket knowing yet. It waits for the next
        // connect (which resends it); still connected, it is resent once more after a pause, and only a
        // second silence asks the user.
        t.queue(this.me, clientMsgId);
        if (!this.socket?.connected) return;
        if (this.resent.has(clientMsgId)) return refused('No answer from the server');
        this.resent.add(clientMsgId);
        setTimeout(() => {
          const still = this.store.timelines
            .get(conversationId)
            ?.messages.some((m) => m.clientMsgId === clientMsgId && m.status === 'queued');
          if (still && !this.attempts.has(clientMsgId) && this.socket?.connected) this.dispatch(e);
        }, RESEND_AFTER_MS);
      });
  }

  /** Holds every send until the rate limit allows again, then sends what waits, oldest first. */
  private holdSends(retryAfterMs: number | undefined): void {
    const wait = holdDelay(retryAfterMs);
    this.holdUntil = Math.max(this.holdUntil, Date.now() + wait);
    this.sendsHeld = true;
    if (this.holdTimer) return;
    const release = () => {
      const left = this.holdUntil - Date.now();
      if (left > 0) {
        this.holdTimer = setTimeout(release, left);
        return;
      }
      this.holdTimer = null;
      this.sendsHeld = false;
      void this.flushOutbox();
    };
    this.holdTimer = setTimeout(release, wait);
  }
}

/** What the person is told when the browser's storage would not remove an entry. */
function storageError(err: unknown): string {
  // A DOMException (what IndexedDB throws) is an Error in today's browsers; its message is what counts.
  const message = (err as { message?: unknown } | null)?.message;
  const detail = typeof message === 'string' && message ? ` (${message})` : '';
  return `The browser's storage refused${detail}; it is still kept here. Try Discard again.`;
}

export const outgoing = new Outgoing(conversations);
