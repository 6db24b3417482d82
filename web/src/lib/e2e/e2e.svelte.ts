import { SvelteMap, SvelteSet } from 'svelte/reactivity';
import {
  E2EDevice,
  undecryptableText,
  type DecryptResult,
  type DeviceInfo,
  type E2ERequest,
  type EncryptedPayload,
} from '@chat/client/e2e';
import type { E2eEvent, Message } from '@chat/contracts';
import { request } from '../api/http';
import { keepDraftInMemory } from '../offline/drafts';
import { IndexedDbStore } from './idb-store';

/** How often messages waiting for keys are tried again (their keys come with the next commit/welcome). */
const RETRY_MS = 2_000;

const e2eRequest: E2ERequest = (method, path, body) => request(method, path, body);

/**
 * End-to-end encryption in the web client: this browser's device (keys in IndexedDB), which
 * conversations are encrypted, and the decrypted text of their messages. The crypto itself is the
 * client package's (`@chat/client/e2e`); see docs/e2e.md.
 */
class E2E {
  device = $state.raw<E2EDevice | null>(null);
  /** Ids of the end-to-end encrypted conversations the user is in. */
  encrypted = new SvelteSet<string>();
  /** `${senderId}:${clientMsgId}` -> what the message says, or why it cannot be read. */
  results = new SvelteMap<string, DecryptResult>();
  /** Bumped while some messages wait for keys: their views try again. */
  retryTick = $state(0);
  error = $state('');
  private starting: Promise<E2EDevice | null> | null = null;
  private userId = '';
  private timer: ReturnType<typeof setInterval> | null = null;

  /** Opens (or creates) this browser's device for the user; safe to call on every connect. */
  start(userId: string): Promise<E2EDevice | null> {
    if (this.userId !== userId) this.reset();
    this.userId = userId;
    this.starting ??= (async () => {
      try {
        const device = await E2EDevice.open({ request: e2eRequest, store: await IndexedDbStore.open(), userId });
        this.device = device;
        this.error = '';
        return device;
      } catch (err) {
        this.error = `End-to-end encryption is unavailable on this device: ${(err as Error).message}`;
        this.starting = null;
        return null;
      }
    })();
    this.timer ??= setInterval(() => {
      if ([...this.results.values()].some((r) => !r.ok && r.reason === 'keys-missing')) this.retryTick++;
    }, RETRY_MS);
    return this.starting.then(async (d) => {
      if (d) await this.refresh().catch(() => undefined);
      return d;
    });
  }

  /** The device once it is open; null before start() or when it failed. */
  private async ready(): Promise<E2EDevice | null> {
    return this.device ?? (this.starting ? await this.starting : null);
  }

  reset(): void {
    this.device = null;
    this.starting = null;
    this.encrypted.clear();
    this.results.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Which conversations are encrypted (after a (re)connect, or a conversation event). */
  async refresh(): Promise<void> {
    const d = this.device;
    if (!d) return;
    const ids = await d.encryptedConversations();
    for (const id of ids) {
      this.encrypted.add(id);
      keepDraftInMemory(this.userId, id);
    }
  }

  isEncrypted(conversationId: string): boolean {
    return this.encrypted.has(conversationId);
  }

  /** Makes a conversation end-to-end encrypted (for good). */
  async enable(conversationId: string): Promise<void> {
    const d = await this.ready();
    if (!d) throw new Error(this.error || 'end-to-end encryption is unavailable');
    await d.enable(conversationId);
    this.encrypted.add(conversationId);
    keepDraftInMemory(this.userId, conversationId);
  }

  /** Adds or removes devices to match the members (a member joined or left, a device appeared). */
  reconcile(conversationId: string): void {
    if (!this.isEncrypted(conversationId)) return;
    // Afterwards the views look again (keys may have come; the device may have asked to be re-added).
    void this.device
      ?.reconcile(conversationId)
      .then(() => this.retryTick++)
      .catch(() => undefined);
  }

  /**
   * The socket `e2e` event: a commit (and maybe a welcome for this device) waits. The device applies it
   * at once; messages that waited for those keys are tried again.
   */
  onEvent(e: E2eEvent): void {
    const d = this.device;
    if (!d) return;
    if (!this.isEncrypted(e.conversationId)) void this.refresh().catch(() => undefined);
    void d
      .onEvent(e)
      .then((changed) => {
        if (changed) this.retryTick++;
      })
      .catch(() => undefined);
  }

  /** Encrypts for a conversation; the text is remembered as this message's plaintext. */
  async encrypt(conversationId: string, clientMsgId: string, text: string): Promise<EncryptedPayload> {
    const d = await this.ready();
    if (!d) throw new Error(this.error || 'end-to-end encryption is not ready on this device');
    const payload = await d.encrypt(conversationId, text, clientMsgId);
    this.results.set(`${d.userId}:${clientMsgId}`, { ok: true, text });
    return payload;
  }

  result(m: Pick<Message, 'senderId' | 'clientMsgId'>): DecryptResult | undefined {
    return this.results.get(`${m.senderId}:${m.clientMsgId}`);
  }

  /** Decrypts a message once (the result is kept); a message waiting for keys is tried again. */
  async decrypt(m: Message): Promise<DecryptResult | undefined> {
    const key = `${m.senderId}:${m.clientMsgId}`;
    const had = this.results.get(key);
    if (had && (had.ok || had.reason !== 'keys-missing')) return had;
    // Not started yet (before the first connect): the views try again once the device is there.
    const d = await this.ready();
    if (!d) return undefined;
    const r = await d.decrypt(m);
    this.results.set(key, r);
    return r;
  }

  /** The conversation list's one-line preview of an encrypted message, when it was decrypted. */
  preview(m: Pick<Message, 'kind' | 'senderId' | 'clientMsgId'> | null): string | null {
    if (!m || m.kind !== 'encrypted') return null;
    const r = this.result(m);
    if (!r) return 'Encrypted message';
    if (!r.ok) return `Encrypted message (${undecryptableText[r.reason]})`;
    const text = r.text.replace(/\s+/g, ' ').trim();
    return text.length > 80 ? `${text.slice(0, 79)}…` : text;
  }

  /** Removes another device of this user on the server (its keys and mailbox). */
  async removeOtherDevice(deviceId: string): Promise<void> {
    if (deviceId === this.device?.deviceId) throw new Error('this is the device in use');
    await request('DELETE', `/keys/devices/${encodeURIComponent(deviceId)}`);
  }

  devices(userId: string): Promise<DeviceInfo[]> {
    return this.device ? this.device.devices(userId) : Promise.resolve([]);
  }
}

export const e2e = new E2E();
export { undecryptableText };
