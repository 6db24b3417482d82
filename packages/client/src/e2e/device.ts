import type { E2eEvent } from '@chat/contracts';
import * as mls from './mls';
import { fromUtf8, utf8 } from './bytes';
import type { E2EStore } from './store';
import { diffDevices, listDevices, safetyNumber } from './devices';
import { heldKeyPackages, replenishKeyPackages } from './key-packages';
import { joinFromWelcomes, readdDevice, reconcileGroup } from './membership';
import { deviceContext, loadOrCreateIdentity, type DeviceContext, type DeviceStorage, type Identity } from './state';
import {
  CIPHERTEXT_MAX_CHARS,
  E2EError,
  MLS_NONCE_LABEL,
  REJOIN_MIN_INTERVAL_MS,
  SYNC_MIN_INTERVAL_MS,
  codeOf,
  type DecryptResult,
  type DeviceInfo,
  type E2ERequest,
  type EncryptedMessageLike,
  type EncryptedPayload,
  type OpenDeviceOptions,
} from './types';

/**
 * One device's end of end-to-end encryption (docs/e2e.md): MLS groups (RFC 9420, via ts-mls), one per
 * encrypted conversation, whose members are the devices of the conversation's members.
 *
 * The server only orders and relays: it holds key packages, the list of each group's commits
 * (accepted from the current epoch only) and each device's welcome mailbox. Everything it sees is
 * MLS ciphertext or public key material.
 */

export class E2EDevice {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** When each conversation last fetched its welcomes and commits (decrypt retries fetch at most once a second). */
  private readonly lastSync = new Map<string, number>();
  private readonly tried = new Set<string>();
  /** When this device last asked to be re-added to each conversation it could not catch up with. */
  private readonly rejoinAsked = new Map<string, number>();

  private readonly storage: DeviceStorage;
  /** What the modules working for this device (key packages, membership commits) use of it. */
  private readonly ctx: DeviceContext;

  private constructor(
    private readonly request: E2ERequest,
    private readonly store: E2EStore,
    readonly userId: string,
    private readonly identity: Identity,
    private readonly deviceAddSpreadMs = 3_000,
  ) {
    this.ctx = deviceContext(request, store, userId, identity);
    this.storage = this.ctx.storage;
  }

  get deviceId(): string {
    return this.identity.deviceId;
  }
  /** This device's signature public key (base64): what the server lists for it. */
  get publicKey(): string {
    return this.identity.publicKey;
  }

  /**
   * Loads this user's device from the store, creating it on first use (a new signature key pair that
   * never leaves the store), registers its public key and tops up its key packages.
   */
  static async open(opts: OpenDeviceOptions): Promise<E2EDevice> {
    const identity = await loadOrCreateIdentity(opts.store, opts.userId, opts.deviceId);
    const device = new E2EDevice(opts.request, opts.store, opts.userId, identity, opts.deviceAddSpreadMs);
    await device.request('PUT', `/keys/devices/${identity.deviceId}`, {
      publicKey: identity.publicKey,
      algorithm: mls.CIPHERSUITE,
    });
    await device.replenishKeyPackages();
    return device;
  }

  /**
   * Publishes fresh one-time key packages when fewer than half of the target remain on the server, and
   * a last-resort package when the server has none for this device. The private half of a one-time
   * package is deleted once its welcome has been processed; the last-resort one's is kept.
   */
  async replenishKeyPackages(): Promise<number> {
    return replenishKeyPackages(this.ctx);
  }

  /** The refs of the key packages whose private halves this device still holds (for tests and audits). */
  async heldKeyPackages(): Promise<{ refs: string[]; lastResort: string | null }> {
    return heldKeyPackages(this.ctx);
  }

  /** Removes this device on the server (its keys and mailbox) and forgets its secrets here. */
  async remove(): Promise<void> {
    await this.request('DELETE', `/keys/devices/${this.deviceId}`);
    for (const k of await this.store.keys('')) if (k.includes(this.userId)) await this.store.delete(k);
  }

  /** Ids of the caller's end-to-end encrypted conversations. */
  async encryptedConversations(): Promise<Set<string>> {
    const groups = await this.request<Array<{ conversationId: string }>>('GET', '/e2e/groups');
    return new Set(groups.map((g) => g.conversationId));
  }

  /**
   * Makes a conversation end-to-end encrypted: the server records it (once, for good), this device
   * creates the MLS group and adds every member's devices.
   */
  async enable(conversationId: string): Promise<void> {
    await this.serial(conversationId, async () => {
      await this.request('POST', `/e2e/groups/${conversationId}`);
      await this.storage.saveState(conversationId, await mls.newGroup(conversationId, this.ctx.me, this.ctx.sig), 0);
      await this.reconcileLocked(conversationId);
    });
  }

  /** Catches up with the group (welcome, commits) and adds or removes devices to match its members. */
  async reconcile(conversationId: string): Promise<void> {
    await this.serial(conversationId, async () => {
      await this.syncLocked(conversationId);
      if (await this.storage.loadState(conversationId)) await this.reconcileLocked(conversationId);
    });
  }

  /**
   * The socket `e2e` event (a commit was accepted; welcomes may wait for the devices it added): joins or
   * applies the commits now, so an idle device follows membership without sending or reopening.
   * Resolves true when this device's group changed (joined, moved to a new epoch, or was removed).
   * Never rejects: the event is only a hint, and what cannot be fetched now (a member removed meanwhile,
   * the server unreachable) is fetched again at the next send, open or decrypt.
   */
  async onEvent(e: E2eEvent): Promise<boolean> {
    if (e.type === 'rejoin') return this.serial(e.conversationId, () => this.readdLocked(e)).catch(() => false);
    if (e.type === 'device') return this.addAnnounced(e).catch(() => false);
    if (e.deviceId === this.deviceId) return false; // its own commit: applied when it was made
    const welcomed = e.welcomed.some((d) => d.userId === this.userId && d.deviceId === this.deviceId);
    return this.serial(e.conversationId, async () => {
      const before = await this.storage.loadState(e.conversationId);
      if (!welcomed && (!before || mls.epochOf(before) >= e.epoch)) return false;
      await this.syncLocked(e.conversationId).catch(() => undefined);
      const after = await this.storage.loadState(e.conversationId);
      return (before ? mls.epochOf(before) : -1) !== (after ? mls.epochOf(after) : -1);
    }).catch(() => false);
  }

  /**
   * A member registered a new device (socket `e2e`, type `device`): after a random wait (so that the
   * first of the online devices does it and the others see its commit), a device of the group catches
   * up and adds the members' devices it lacks. Resolves true when its group changed.
   */
  private async addAnnounced(e: Extract<E2eEvent, { type: 'device' }>): Promise<boolean> {
    if (e.userId === this.userId && e.deviceId === this.deviceId) return false; // it is welcomed, not adding
    if (this.deviceAddSpreadMs > 0)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * this.deviceAddSpreadMs));
    return this.serial(e.conversationId, async () => {
      const before = await this.storage.loadState(e.conversationId);
      if (!before) return false;
      await this.syncLocked(e.conversationId);
      await this.reconcileLocked(e.conversationId);
      const after = await this.storage.loadState(e.conversationId);
      return mls.epochOf(before) !== (after ? mls.epochOf(after) : -1);
    });
  }

  /** Encrypts a text for a conversation's devices, after bringing the group up to date. */
  async encrypt(conversationId: string, text: string, clientMsgId: string): Promise<EncryptedPayload> {
    return this.serial(conversationId, async () => {
      await this.syncLocked(conversationId);
      if (!(await this.storage.loadState(conversationId))) {
        throw new E2EError(
          'NOT_READY',
          "this device has no keys for the conversation yet: another member's device adds it when it is next online",
        );
      }
      await this.reconcileLocked(conversationId);
      const state = (await this.storage.loadState(conversationId))!;
      const { state: next, ciphertextB64 } = await mls.encryptMessage(state, utf8(JSON.stringify({ t: text })));
      if (ciphertextB64.length > CIPHERTEXT_MAX_CHARS)
        throw new E2EError('TOO_LARGE', 'the message is too long once encrypted');
      await this.storage.saveState(conversationId, next);
      await this.store.set(this.storage.plainKey(conversationId, this.userId, clientMsgId), text);
      return {
        ciphertext: ciphertextB64,
        nonce: MLS_NONCE_LABEL,
        keyId: String(mls.epochOf(state)),
        senderDeviceId: this.deviceId,
      };
    });
  }

  /** Decrypts a message, or says why it cannot (yet): never throws for a bad ciphertext. */
  async decrypt(message: EncryptedMessageLike): Promise<DecryptResult> {
    const { conversationId } = message;
    return this.serial(conversationId, async () => {
      const cacheKey = this.storage.plainKey(conversationId, message.senderId, message.clientMsgId);
      const cached = await this.store.get(cacheKey);
      if (cached !== undefined) return { ok: true, text: cached };
      const payload = message.encrypted;
      const epoch = payload ? mls.ciphertextEpoch(payload.ciphertext) : null;
      if (!payload || epoch === null) return { ok: false, reason: 'corrupt' };

      let state = await this.storage.loadState(conversationId);
      // A message's first attempt always fetches; retries (waiting for keys) at most once a second.
      const firstTry = !this.tried.has(cacheKey);
      if (firstTry) {
        if (this.tried.size > 10_000) this.tried.clear();
        this.tried.add(cacheKey);
      }
      if (
        (!state || epoch > mls.epochOf(state)) &&
        (firstTry || Date.now() - (this.lastSync.get(conversationId) ?? 0) >= SYNC_MIN_INTERVAL_MS)
      ) {
        // Unreachable server, or no longer a member (404): decide with what this device has.
        await this.syncLocked(conversationId).catch(() => undefined);
        state = await this.storage.loadState(conversationId);
      }
      if (!state) return { ok: false, reason: 'keys-missing' };
      const joined = Number((await this.store.get(this.storage.joinedKey(conversationId))) ?? '0');
      if (epoch < joined) return { ok: false, reason: 'before-join' };
      if (epoch > mls.epochOf(state)) return { ok: false, reason: 'keys-missing' };
      try {
        const r = await mls.decryptMessage(state, payload.ciphertext);
        const text = (JSON.parse(fromUtf8(r.plaintext)) as { t?: unknown }).t;
        if (typeof text !== 'string') return { ok: false, reason: 'corrupt' };
        // The device that signed it must be the sender's (the server names the sender; MLS proves it).
        // (The state is not kept: the genuine copy of the message still opens.)
        if (!r.sender || r.sender.userId !== message.senderId || r.sender.deviceId !== payload.senderDeviceId)
          return { ok: false, reason: 'corrupt' };
        await this.storage.saveState(conversationId, r.state);
        await this.store.set(cacheKey, text);
        return { ok: true, text };
      } catch {
        return { ok: false, reason: 'corrupt' };
      }
    });
  }

  /** The devices a conversation's group holds now, as this device's copy of the group has them. */
  async groupDevices(conversationId: string): Promise<Array<mls.DeviceRef & { signaturePublicKey: string }>> {
    const state = await this.storage.loadState(conversationId);
    return state
      ? mls.roster(state).map(({ userId, deviceId, signaturePublicKey }) => ({ userId, deviceId, signaturePublicKey }))
      : [];
  }

  /** A user's registered end-to-end devices. */
  async devices(userId: string): Promise<DeviceInfo[]> {
    return listDevices(this.request, userId);
  }

  /**
   * How a user's device list changed since this device last acknowledged it (`null` the first time,
   * which is remembered as the baseline). A change means a new device, or a server adding one.
   */
  async deviceChanges(userId: string): Promise<{ added: DeviceInfo[]; removed: DeviceInfo[] } | null> {
    const now = await this.devices(userId);
    const seenRaw = await this.store.get(this.storage.seenKey(userId));
    if (seenRaw === undefined) {
      await this.acknowledgeDevices(userId, now);
      return null;
    }
    return diffDevices(JSON.parse(seenRaw) as DeviceInfo[], now);
  }

  async acknowledgeDevices(userId: string, list?: DeviceInfo[]): Promise<void> {
    await this.store.set(this.storage.seenKey(userId), JSON.stringify(list ?? (await this.devices(userId))));
  }

  /**
   * A safety number for this user and another: 60 digits from a SHA-512 over both users' device keys.
   * Both sides compute the same number; if it differs, one of them sees a device the other does not
   * (for example one injected by the server).
   */
  async safetyNumber(otherUserId: string): Promise<string> {
    const lists = await Promise.all([this.devices(this.userId), this.devices(otherUserId)]);
    return safetyNumber(lists.flat());
  }

  // ---- internals ----

  /** Runs one operation of a conversation at a time: each changes the group state the next reads. */
  private serial<T>(conversationId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(conversationId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(conversationId, tail);
    void tail.then(() => {
      if (this.locks.get(conversationId) === tail) this.locks.delete(conversationId);
    });
    return run;
  }

  /** Joins groups this device was welcomed to, then applies the conversation's new commits. */
  private async syncLocked(conversationId: string): Promise<void> {
    this.lastSync.set(conversationId, Date.now());
    await this.processWelcomes(conversationId);
    let state = await this.storage.loadState(conversationId);
    if (!state) return;
    for (;;) {
      const page = await this.request<{ epoch: number; commits: Array<{ epoch: number; commit: string }> }>(
        'GET',
        `/e2e/groups/${conversationId}/commits?from=${mls.epochOf(state)}`,
      );
      // None, or the next one is no longer kept (away beyond the server's window): this device asks the
      // members' devices to re-add it (docs/e2e.md).
      if (page.commits[0]?.epoch !== mls.epochOf(state)) {
        if (page.epoch > mls.epochOf(state)) await this.askRejoin(conversationId);
        break;
      }
      for (const c of page.commits) {
        if (c.epoch !== mls.epochOf(state)) break;
        try {
          state = await mls.applyCommit(state, c.commit);
        } catch {
          // A commit this device cannot apply (it was removed, or the commit is bad): stop here; a
          // later welcome brings the device back when a member adds it again.
          await this.store.delete(this.storage.stateKey(conversationId));
          return;
        }
      }
      await this.storage.saveState(conversationId, state);
      if (state.groupActiveState.kind !== 'active' || mls.epochOf(state) >= page.epoch) break;
    }
  }

  /** Joins from this conversation's welcomes; a device re-added no longer awaits its rejoin. */
  private processWelcomes(conversationId: string): Promise<void> {
    return joinFromWelcomes(this.ctx, conversationId, (joinedId) => this.rejoinAsked.delete(joinedId));
  }

  /**
   * This device cannot catch up (the commits it misses are no longer kept): it publishes a fresh key
   * package in a rejoin request, and a member's device that is online re-adds it (`readdLocked`).
   */
  private async askRejoin(conversationId: string): Promise<void> {
    if (Date.now() - (this.rejoinAsked.get(conversationId) ?? 0) < REJOIN_MIN_INTERVAL_MS) return;
    this.rejoinAsked.set(conversationId, Date.now());
    const kp = await mls.newKeyPackage(this.ctx.me, this.ctx.sig);
    await this.store.set(this.storage.keyPackageKey(kp.ref), kp.privateB64);
    await this.request('POST', `/e2e/groups/${conversationId}/rejoin`, {
      deviceId: this.deviceId,
      keyPackage: kp.publicB64,
    }).catch((err: unknown) => {
      // RATE_LIMITED: this device asked less than the server's window ago (a reload forgets the time
      // kept here); that request stands, so keep waiting. Anything else: ask again next time.
      if (codeOf(err) !== 'RATE_LIMITED') this.rejoinAsked.delete(conversationId);
    });
  }

  /** Whether this device asked to be re-added to a conversation and has not been yet. */
  awaitingRejoin(conversationId: string): boolean {
    return this.rejoinAsked.has(conversationId);
  }

  /** A member's device asks to be re-added (socket `e2e`, type `rejoin`): `readdDevice`. */
  private readdLocked(e: Extract<E2eEvent, { type: 'rejoin' }>): Promise<boolean> {
    return readdDevice(this.ctx, e, (id) => this.syncLocked(id));
  }

  /** Commits that make the group's devices match the server's list of the members' devices. */
  private reconcileLocked(conversationId: string): Promise<void> {
    return reconcileGroup(this.ctx, conversationId, (id) => this.syncLocked(id));
  }
}
