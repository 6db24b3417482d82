import type { E2EStore } from '@chat/client/e2e';

/**
 * The device's secrets in IndexedDB (database `chat-e2e`). Every value is sealed with AES-GCM under a
 * non-extractable WebCrypto key that is itself kept in IndexedDB: script can use it but never read it,
 * so a copy of the database's files alone does not give the secrets away. (The MLS library needs its
 * private keys as bytes, so they cannot be non-extractable CryptoKeys themselves; docs/e2e.md.)
 */
const DB = 'chat-e2e';
const VALUES = 'values';
const META = 'meta';

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

function openDb(): Promise<IDBDatabase> {
  const r = indexedDB.open(DB, 1);
  r.onupgradeneeded = () => {
    r.result.createObjectStore(VALUES);
    r.result.createObjectStore(META);
  };
  return req(r);
}

export class IndexedDbStore implements E2EStore {
  private constructor(
    private readonly db: IDBDatabase,
    private readonly key: CryptoKey,
  ) {}

  static async open(): Promise<IndexedDbStore> {
    const db = await openDb();
    let key = (await req(db.transaction(META).objectStore(META).get('seal'))) as CryptoKey | undefined;
    if (!key) {
      key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      await req(db.transaction(META, 'readwrite').objectStore(META).put(key, 'seal'));
    }
    return new IndexedDbStore(db, key);
  }

  async get(k: string): Promise<string | undefined> {
    const sealed = (await req(this.db.transaction(VALUES).objectStore(VALUES).get(k))) as
      { iv: Uint8Array<ArrayBuffer>; data: ArrayBuffer } | undefined;
    if (!sealed) return undefined;
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: sealed.iv, additionalData: new TextEncoder().encode(k) },
      this.key,
      sealed.data,
    );
    return new TextDecoder().decode(plain);
  }

  async set(k: string, value: string): Promise<void> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const data = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(k) },
      this.key,
      new TextEncoder().encode(value),
    );
    await req(this.db.transaction(VALUES, 'readwrite').objectStore(VALUES).put({ iv, data }, k));
  }

  async delete(k: string): Promise<void> {
    await req(this.db.transaction(VALUES, 'readwrite').objectStore(VALUES).delete(k));
  }

  async keys(prefix: string): Promise<string[]> {
    const all = (await req(this.db.transaction(VALUES).objectStore(VALUES).getAllKeys())) as string[];
    return all.filter((k) => k.startsWith(prefix));
  }
}
