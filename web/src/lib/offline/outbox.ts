import { seal, unseal, type Sealed } from '../e2e/idb-store';

/**
 * Messages written but not yet acknowledged, kept in IndexedDB so they survive a reload: each goes out
 * again with its ORIGINAL clientMsgId when the socket (re)connects, and the server stores it once
 * whatever the number of attempts. An entry leaves the store when the server acknowledges it (or the
 * user discards it); `error` marks one the server refused, which waits for a manual Retry.
 *
 * The text of an end-to-end encrypted conversation's entry (`e2e`) is never written in clear: it is
 * sealed with AES-GCM under the device's non-extractable key (lib/e2e/idb-store.ts), and where that
 * key cannot be had (no WebCrypto, storage refused) the entry lives in memory only (docs/e2e.md).
 *
 * So does any entry the browser's storage will not keep (no IndexedDB, a write refused or aborted):
 * it still goes out while the page is open, and `put` says so, so the message can tell the user that a
 * reload would lose it.
 */
export interface OutboxEntry {
  clientMsgId: string;
  /** The author: one browser profile may hold several accounts one after the other. */
  senderId: string;
  conversationId: string;
  body: string;
  createdAt: string;
  error?: string;
  /** Written in an end-to-end encrypted conversation: sent encrypted, kept sealed. */
  e2e?: boolean;
}

/** What IndexedDB holds: an encrypted conversation's entry has `sealed` instead of `body`. */
type StoredEntry = Omit<OutboxEntry, 'body'> & { body?: string; sealed?: Sealed };

const DB = 'chat-offline';
const STORE = 'outbox';
let opening: Promise<IDBDatabase | null> | null = null;
/**
 * Entries storage did not keep (not sealed, not written): kept for the life of the page only. The
 * newest state of an entry: it hides an older one IndexedDB may still hold under the same clientMsgId.
 */
const pageOnly = new Map<string, OutboxEntry>();
/** One operation at a time, in call order: a delete never overtakes the (slower, sealing) put before it. */
let queue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn);
  queue = next.catch(() => undefined);
  return next;
}

function open(): Promise<IDBDatabase | null> {
  opening ??= new Promise((resolve) => {
    if (typeof indexedDB === 'undefined') return resolve(null);
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore(STORE, { keyPath: 'clientMsgId' });
      store.createIndex('senderId', 'senderId');
    };
    req.onsuccess = () => {
      // The browser closed the connection (site data cleared, storage lost): the next call opens again.
      req.result.onclose = () => (opening = null);
      resolve(req.result);
    };
    // Private mode or storage disabled: the queue lives as long as the page.
    req.onerror = () => resolve(null);
  });
  return opening;
}

/**
 * One request in its own transaction, settled when the transaction is: a write resolves once it is
 * COMMITTED (a request's success alone is not: a reload before the commit aborts it), and rejects
 * when it fails or is aborted.
 */
async function run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> {
  const db = await open();
  if (!db) return undefined;
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    const failed = () => reject(tx.error ?? req.error ?? new Error('IndexedDB transaction failed'));
    tx.oncomplete = () => resolve(req.result);
    tx.onabort = failed;
    tx.onerror = failed;
  });
}

const label = (clientMsgId: string) => `outbox:${clientMsgId}`;

async function stored(e: OutboxEntry): Promise<StoredEntry | null> {
  if (!e.e2e) return e;
  try {
    const { body, ...rest } = e;
    return { ...rest, sealed: await seal(label(e.clientMsgId), body) };
  } catch {
    return null;
  }
}

/** The entry back in clear; null when its seal cannot be opened (the device's keys were cleared). */
async function opened(s: StoredEntry): Promise<OutboxEntry | null> {
  if (!s.sealed) return s.body === undefined ? null : (s as OutboxEntry);
  try {
    const { sealed, ...rest } = s;
    return { ...rest, body: await unseal(label(s.clientMsgId), sealed) };
  } catch {
    return null;
  }
}

export const outbox = {
  /**
   * Writes an entry. Never rejects: resolves `true` once the write is committed (the entry survives a
   * reload), `false` when storage did not keep it (no IndexedDB, the write refused, a text that could
   * not be sealed). The entry is then kept in memory: it still goes out while the page is open, but a
   * reload loses it (or brings back the older state IndexedDB still holds).
   */
  put: (e: OutboxEntry): Promise<boolean> =>
    serial(async () => {
      try {
        const s = await stored(e);
        if (s && (await open())) {
          await run('readwrite', (st) => st.put(s));
          pageOnly.delete(e.clientMsgId);
          return true;
        }
      } catch {
        // Refused (quota, a disk error, the transaction aborted, sealing failed): kept in memory below.
      }
      pageOnly.set(e.clientMsgId, e);
      return false;
    }),
  /** Whether the entry lives in this page only: storage did not keep its latest state. */
  onlyHere: (clientMsgId: string): boolean => pageOnly.has(clientMsgId),
  /**
   * Removes an entry. Resolves once the removal is committed (a reload after that cannot bring the
   * message back) and REJECTS when IndexedDB could not remove it: the entry is still there, and the
   * caller must not tell the user it is gone.
   */
  delete: (clientMsgId: string): Promise<void> =>
    serial(async () => {
      await run('readwrite', (s) => s.delete(clientMsgId));
      // Only once the removal is committed: refused, the entry is still kept (and still goes out).
      pageOnly.delete(clientMsgId);
    }),
  /** Forgets a user's unsent messages (explicit log-out on a shared computer), as far as storage lets it. */
  async clear(senderId: string): Promise<void> {
    const forget = (id: string) => outbox.delete(id).catch(() => undefined);
    for (const e of await outbox.of(senderId)) await forget(e.clientMsgId);
    // Entries that can no longer be opened go too.
    const rest = ((await run('readonly', (s) => s.index('senderId').getAllKeys(senderId)).catch(() => [])) ??
      []) as string[];
    for (const id of rest) await forget(id);
    // What this page held in memory goes whatever storage said.
    for (const [id, e] of pageOnly) if (e.senderId === senderId) pageOnly.delete(id);
  },
  /** The user's entries, oldest first (the order they were written in). */
  of: (senderId: string): Promise<OutboxEntry[]> =>
    serial(async () => {
      const raw = ((await run('readonly', (s) => s.index('senderId').getAll(senderId)).catch(() => [])) ??
        []) as StoredEntry[];
      // An entry kept in memory is newer than what IndexedDB holds under its clientMsgId.
      const all = (await Promise.all(raw.map(opened))).filter(
        (e): e is OutboxEntry => e !== null && !pageOnly.has(e.clientMsgId),
      );
      for (const e of pageOnly.values()) if (e.senderId === senderId) all.push(e);
      return all.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
    }),
};
