import type { E2EStore } from '@chat/client/e2e';

/**
 * The device's secrets in IndexedDB (database `chat-e2e`). Every value is sealed with AES-GCM under a
 * non-extractable WebCrypto key that is itself kept in IndexedDB: script can use it but never read it,
 * so a copy of the database's files alone does not give the secrets away. (The MLS library needs its
 * private keys as bytes, so they cannot be non-extractable CryptoKeys themselves; docs/e2e.md.)
 * The same key seals the offline outbox's texts of encrypted conversations (lib/offline/outbox.ts).
 */
const DB = 'chat-e2e';
const VALUES = 'values';
const META = 'meta';

/** A value sealed at rest: AES-GCM with a fresh 96-bit IV, bound (additional data) to where it is kept. */
export interface Sealed {
  iv: Uint8Array<ArrayBuffer>;
  data: ArrayBuffer;
}

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

let opening: Promise<{ db: IDBDatabase; key: CryptoKey }> | null = null;

/** The database and its sealing key (made on first use, non-extractable), opened once per page. */
function openDb(): Promise<{ db: IDBDatabase; key: CryptoKey }> {
  opening ??= (async () => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore(VALUES);
      r.result.createObjectStore(META);
    };
    const db = await req(r);
    let key = (await req(db.transaction(META).objectStore(META).get('seal'))) as CryptoKey | undefined;
    if (!key) {
      key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      await req(db.transaction(META, 'readwrite').objectStore(META).put(key, 'seal'));
    }
    return { db, key };
  })();
  // A failure (storage or WebCrypto unavailable) is not cached: the next call tries again.
  opening.catch(() => (opening = null));
  return opening;
}

/** Seals a text under the device's sealing key; `label` (where it is kept) must be given again to open it. */
export async function seal(label: string, text: string): Promise<Sealed> {
  const { key } = await openDb();
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(label) },
    key,
    new TextEncoder().encode(text),
  );
  return { iv, data };
}

/** Opens what `seal` made with the same label; throws if it was altered or sealed by another key. */
export async function unseal(label: string, sealed: Sealed): Promise<string> {
  const { key } = await openDb();
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: sealed.iv, additionalData: new TextEncoder().encode(label) },
    key,
    sealed.data,
  );
  return new TextDecoder().decode(plain);
}

export class IndexedDbStore implements E2EStore {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<IndexedDbStore> {
    return new IndexedDbStore((await openDb()).db);
  }

  async get(k: string): Promise<string | undefined> {
    const sealed = (await req(this.db.transaction(VALUES).objectStore(VALUES).get(k))) as Sealed | undefined;
    return sealed ? unseal(k, sealed) : undefined;
  }

  async set(k: string, value: string): Promise<void> {
    const sealed = await seal(k, value);
    await req(this.db.transaction(VALUES, 'readwrite').objectStore(VALUES).put(sealed, k));
  }

  async delete(k: string): Promise<void> {
    await req(this.db.transaction(VALUES, 'readwrite').objectStore(VALUES).delete(k));
  }

  async keys(prefix: string): Promise<string[]> {
    const all = (await req(this.db.transaction(VALUES).objectStore(VALUES).getAllKeys())) as string[];
    return all.filter((k) => k.startsWith(prefix));
  }
}
