/**
 * Messages written but not yet acknowledged, kept in IndexedDB so they survive a reload: each goes out
 * again with its ORIGINAL clientMsgId when the socket (re)connects, and the server stores it once
 * whatever the number of attempts. An entry leaves the store when the server acknowledges it (or the
 * user discards it); `error` marks one the server refused, which waits for a manual Retry.
 */
export interface OutboxEntry {
  clientMsgId: string;
  /** The author: one browser profile may hold several accounts one after the other. */
  senderId: string;
  conversationId: string;
  body: string;
  createdAt: string;
  error?: string;
}

const DB = 'chat-offline';
const STORE = 'outbox';
let opening: Promise<IDBDatabase | null> | null = null;

function open(): Promise<IDBDatabase | null> {
  opening ??= new Promise((resolve) => {
    if (typeof indexedDB === 'undefined') return resolve(null);
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      const store = req.result.createObjectStore(STORE, { keyPath: 'clientMsgId' });
      store.createIndex('senderId', 'senderId');
    };
    req.onsuccess = () => resolve(req.result);
    // Private mode or storage disabled: the queue lives as long as the page.
    req.onerror = () => resolve(null);
  });
  return opening;
}

async function run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> {
  const db = await open();
  if (!db) return undefined;
  return new Promise((resolve, reject) => {
    const req = fn(db.transaction(STORE, mode).objectStore(STORE));
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

export const outbox = {
  put: (e: OutboxEntry) => run('readwrite', (s) => s.put(e)).catch(() => undefined),
  delete: (clientMsgId: string) => run('readwrite', (s) => s.delete(clientMsgId)).catch(() => undefined),
  /** Forgets a user's unsent messages (explicit log-out on a shared computer). */
  async clear(senderId: string): Promise<void> {
    for (const e of await outbox.of(senderId)) await outbox.delete(e.clientMsgId);
  },
  /** The user's entries, oldest first (the order they were written in). */
  async of(senderId: string): Promise<OutboxEntry[]> {
    const all = ((await run('readonly', (s) => s.index('senderId').getAll(senderId)).catch(() => [])) ??
      []) as OutboxEntry[];
    return all.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  },
};
