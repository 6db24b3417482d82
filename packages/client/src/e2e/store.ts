/**
 * Where a device keeps its secrets: its signature key, the private halves of its key packages, its
 * MLS group states and the plaintexts it already decrypted (MLS deletes a message key once used, so a
 * message can be decrypted once; the plaintext is kept instead). Values are strings.
 *
 * The web client keeps them in IndexedDB, sealed with a non-extractable WebCrypto key
 * (web/src/lib/e2e/idb-store.ts); a Node client passes its own store or keeps them in memory.
 */
export interface E2EStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** The keys that start with `prefix`. */
  keys(prefix: string): Promise<string[]>;
}

/** Keeps everything in memory: for bots and tests; a restart forgets the device. */
export class MemoryStore implements E2EStore {
  private readonly map = new Map<string, string>();
  async get(key: string) {
    return this.map.get(key);
  }
  async set(key: string, value: string) {
    this.map.set(key, value);
  }
  async delete(key: string) {
    this.map.delete(key);
  }
  async keys(prefix: string) {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix));
  }
}
