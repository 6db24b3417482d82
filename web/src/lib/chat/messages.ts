import type { Message } from '@chat/contracts';

/**
 * A message as the client shows it. Server messages are `sent`; an optimistic one is `pending` (no
 * server id yet, `id` is empty) until its ack or its `message:new`, `queued` while there is no
 * connection (it goes out by itself on reconnect), or `failed` (refused by the server) until retried.
 */
export type SendStatus = 'pending' | 'queued' | 'sent' | 'failed';
export type ChatMessage = Message & {
  status: SendStatus;
  error?: string;
  /** A failed message the user discarded, while the offline outbox removes it (it is shown until then). */
  discarding?: boolean;
  /** Why the last discard did not happen: the message is still kept, and still offers Retry and Discard. */
  discardError?: string;
  /**
   * An unsent message the browser's storage did not keep (the outbox write was refused): it still goes
   * out while the page is open, but a reload or a closed tab loses it. The user is told.
   */
  unsaved?: boolean;
};

/** Server messages in id order (the server's acceptance order); own unsent ones after them. */
export function compareMessages(a: ChatMessage, b: ChatMessage): number {
  if (a.id && b.id) return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  if (a.id) return -1;
  if (b.id) return 1;
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0;
}

/** A stable key for keyed lists: the clientMsgId survives the pending -> sent transition. */
export function messageKey(m: Pick<Message, 'id' | 'clientMsgId' | 'senderId'>): string {
  return m.clientMsgId ? `${m.senderId}:${m.clientMsgId}` : m.id;
}

export interface MergeResult {
  messages: ChatMessage[];
  /** Server messages that were not there before (by id and by clientMsgId): what counts as new. */
  added: Message[];
}

/**
 * Merges server messages into a timeline. A message already held (same id) is not duplicated; an
 * optimistic message of the same sender and clientMsgId is replaced by the server's copy. The
 * result is sorted; the input array is not modified.
 */
export function mergeMessages(existing: readonly ChatMessage[], incoming: readonly Message[]): MergeResult {
  const byId = new Map<string, number>();
  const byClient = new Map<string, number>();
  const out = existing.slice();
  out.forEach((m, i) => {
    if (m.id) byId.set(m.id, i);
    if (m.clientMsgId) byClient.set(`${m.senderId}:${m.clientMsgId}`, i);
  });
  const added: Message[] = [];
  for (const m of incoming) {
    if (byId.has(m.id)) continue;
    const clientKey = `${m.senderId}:${m.clientMsgId}`;
    const local = byClient.get(clientKey);
    const sent: ChatMessage = { ...m, status: 'sent' };
    if (local !== undefined) {
      // Our own optimistic copy, or a second server copy under the same clientMsgId (the server
      // promises one message per clientMsgId): keep one, the server's.
      const had = out[local];
      out[local] = sent;
      if (!had?.id) added.push(m);
    } else {
      out.push(sent);
      byClient.set(clientKey, out.length - 1);
      added.push(m);
    }
    byId.set(m.id, local ?? out.length - 1);
  }
  out.sort(compareMessages);
  return { messages: out, added };
}

/** Adds (or, on retry, re-marks as pending) an optimistic message; a no-op once the server has it. */
export function addPending(
  existing: readonly ChatMessage[],
  pending: Omit<ChatMessage, 'status' | 'id'>,
  status: 'pending' | 'queued' | 'failed' = 'pending',
): ChatMessage[] {
  const same = (m: ChatMessage) => m.senderId === pending.senderId && m.clientMsgId === pending.clientMsgId;
  if (existing.some((m) => m.id && same(m))) return existing.slice();
  const rest = existing.filter((m) => !same(m));
  rest.push({ ...pending, id: '', status });
  return rest.sort(compareMessages);
}

/** Marks an unsent message failed so the UI offers a retry; a message the server holds stays sent. */
export function markFailed(
  existing: readonly ChatMessage[],
  senderId: string,
  clientMsgId: string,
  error: string,
): ChatMessage[] {
  return updateUnsent(existing, senderId, clientMsgId, (m) => ({ ...m, status: 'failed' as const, error }));
}

/** Applies `change` to one unsent message of the sender; a message the server holds is left as it is. */
function updateUnsent(
  existing: readonly ChatMessage[],
  senderId: string,
  clientMsgId: string,
  change: (m: ChatMessage) => ChatMessage,
): ChatMessage[] {
  return existing.map((m) => (m.senderId === senderId && m.clientMsgId === clientMsgId && !m.id ? change(m) : m));
}

/**
 * The discard of an unsent message: `true` while it is being removed, `{ error }` when the removal
 * failed (the message stays, and says why).
 */
export function markDiscarding(
  existing: readonly ChatMessage[],
  senderId: string,
  clientMsgId: string,
  state: true | { error: string },
): ChatMessage[] {
  return updateUnsent(existing, senderId, clientMsgId, (m) => {
    const { discarding: _d, discardError: _e, ...rest } = m;
    return state === true ? { ...rest, discarding: true } : { ...rest, discardError: state.error };
  });
}

/** Whether an unsent message is kept only in this page (`unsaved`): a message the server holds is left as it is. */
export function markUnsaved(
  existing: readonly ChatMessage[],
  senderId: string,
  clientMsgId: string,
  unsaved: boolean,
): ChatMessage[] {
  return updateUnsent(existing, senderId, clientMsgId, (m) => {
    if (!!m.unsaved === unsaved) return m;
    const { unsaved: _u, ...rest } = m;
    return unsaved ? { ...rest, unsaved: true } : rest;
  });
}

/** Marks an unsent message as waiting for the connection (it is resent by itself on reconnect). */
export function markQueued(existing: readonly ChatMessage[], senderId: string, clientMsgId: string): ChatMessage[] {
  return updateUnsent(existing, senderId, clientMsgId, (m) => ({ ...m, status: 'queued' as const, error: undefined }));
}

/** The pending/failed messages of a timeline, to resend after a reconnect. */
export function unsent(existing: readonly ChatMessage[]): ChatMessage[] {
  return existing.filter((m) => !m.id);
}
