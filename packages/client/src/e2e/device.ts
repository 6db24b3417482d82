import type { ClientState, KeyPackage } from 'ts-mls';
import type { E2eEvent } from '@chat/contracts';
import * as mls from './mls';
import { fromBase64, fromUtf8, toBase64, utf8 } from './bytes';
import type { E2EStore } from './store';

/**
 * One device's end of end-to-end encryption (docs/e2e.md): MLS groups (RFC 9420, via ts-mls), one per
 * encrypted conversation, whose members are the devices of the conversation's members.
 *
 * The server only orders and relays: it holds key packages, the list of each group's commits
 * (accepted from the current epoch only) and each device's welcome mailbox. Everything it sees is
 * MLS ciphertext or public key material.
 */

/** Calls the public API (`/api/v1` + path) as the signed-in user; throws an error with `code` on failure. */
export type E2ERequest = <T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) => Promise<T>;

/** The `encrypted` payload of a message (the existing `kind: "encrypted"` message shape). */
export interface EncryptedPayload {
  ciphertext: string;
  nonce: string;
  keyId: string;
  senderDeviceId: string;
}

export interface EncryptedMessageLike {
  conversationId: string;
  senderId: string;
  clientMsgId: string;
  encrypted?: EncryptedPayload | undefined;
}

/** Why a message cannot be shown (yet). */
export type Undecryptable = 'before-join' | 'keys-missing' | 'corrupt';
export const undecryptableText: Record<Undecryptable, string> = {
  'before-join': 'sent before this device joined',
  'keys-missing': 'keys not received yet',
  corrupt: 'could not be decrypted',
};
export type DecryptResult = { ok: true; text: string } | { ok: false; reason: Undecryptable };

export interface DeviceInfo {
  userId: string;
  deviceId: string;
  publicKey: string;
}

export class E2EError extends Error {
  constructor(
    readonly code: 'NOT_READY' | 'TOO_LARGE' | 'NOT_ENCRYPTED',
    message: string,
  ) {
    super(message);
    this.name = 'E2EError';
  }
}

/** The payload `nonce` field: MLS carries its own nonce inside the ciphertext (reuse guard included). */
export const MLS_NONCE_LABEL = 'mls';
/** Largest `ciphertext` the server takes (docs/api.md, Limits). */
export const CIPHERTEXT_MAX_CHARS = 16_000;
/** Key packages a device keeps on the server; it tops them up when fewer than half remain. */
const KEY_PACKAGE_TARGET = 20;
const COMMIT_RETRIES = 5;
/** A message that needs newer keys fetches them at most this often per conversation. */
const SYNC_MIN_INTERVAL_MS = 1_000;
/**
 * Devices added by one commit: each adds about 500 characters to the commit (its key package), which
 * the server bounds at 30000 (docs/api.md, Limits). More are added by the following commits.
 */
const ADDS_PER_COMMIT = 40;
/** A device too far behind to catch up asks to be re-added at most this often per conversation. */
const REJOIN_MIN_INTERVAL_MS = 30_000;

const codeOf = (err: unknown): string | undefined =>
  err && typeof err === 'object' && 'code' in err ? String(err.code) : undefined;

interface Identity {
  deviceId: string;
  signKey: string;
  publicKey: string;
}

export interface OpenDeviceOptions {
  request: E2ERequest;
  store: E2EStore;
  userId: string;
  /** A fresh device gets a random id unless one is given. */
  deviceId?: string;
  /**
   * On a `device` event (a member's new device), wait a random time up to this long before adding it,
   * so that of a room's many online devices only the first few try (the others see the commit first).
   * Default 3000 ms; 0 in tests.
   */
  deviceAddSpreadMs?: number;
}

export class E2EDevice {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** When each conversation last fetched its welcomes and commits (decrypt retries fetch at most once a second). */
  private readonly lastSync = new Map<string, number>();
  private readonly tried = new Set<string>();
  /** When this device last asked to be re-added to each conversation it could not catch up with. */
  private readonly rejoinAsked = new Map<string, number>();

  private constructor(
    private readonly request: E2ERequest,
    private readonly store: E2EStore,
    readonly userId: string,
    private readonly identity: Identity,
    private readonly deviceAddSpreadMs = 3_000,
  ) {}

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
    const key = `device:${opts.userId}`;
    let identity = JSON.parse((await opts.store.get(key)) ?? 'null') as Identity | null;
    if (!identity) {
      const sig = await mls.newSignatureKeys();
      identity = {
        deviceId: opts.deviceId ?? randomDeviceId(),
        signKey: toBase64(sig.signKey),
        publicKey: toBase64(sig.publicKey),
      };
      await opts.store.set(key, JSON.stringify(identity));
    }
    const device = new E2EDevice(opts.request, opts.store, opts.userId, identity, opts.deviceAddSpreadMs);
    await device.request('PUT', `/keys/devices/${identity.deviceId}`, {
      publicKey: identity.publicKey,
      algorithm: mls.CIPHERSUITE,
    });
    await device.replenishKeyPackages();
    return device;
  }

  private get me(): mls.DeviceRef {
    return { userId: this.userId, deviceId: this.deviceId };
  }
  private get sig(): mls.SignatureKeys {
    return { signKey: fromBase64(this.identity.signKey), publicKey: fromBase64(this.identity.publicKey) };
  }

  /**
   * Publishes fresh one-time key packages when fewer than half of the target remain on the server, and
   * a last-resort package when the server has none for this device. The private half of a one-time
   * package is deleted once its welcome has been processed; the last-resort one's is kept.
   */
  async replenishKeyPackages(): Promise<number> {
    const have = await this.request<{ available: number; lastResort?: boolean }>(
      'GET',
      `/e2e/devices/${this.deviceId}/key-packages`,
    );
    const needLastResort = have.lastResort !== true;
    if (have.available >= KEY_PACKAGE_TARGET / 2 && !needLastResort) return have.available;
    const fresh: mls.GeneratedKeyPackage[] = [];
    if (have.available < KEY_PACKAGE_TARGET / 2) {
      for (let i = have.available; i < KEY_PACKAGE_TARGET; i++) fresh.push(await mls.newKeyPackage(this.me, this.sig));
    }
    const lastResort = needLastResort ? await mls.newKeyPackage(this.me, this.sig) : null;
    for (const kp of [...fresh, ...(lastResort ? [lastResort] : [])])
      await this.store.set(this.keyPackageKey(kp.ref), kp.privateB64);
    // Recorded before the upload: a welcome may name it as soon as the server has it.
    if (lastResort) await this.store.set(this.lastResortKey, lastResort.ref);
    const r = await this.request<{ available: number }>('POST', `/e2e/devices/${this.deviceId}/key-packages`, {
      keyPackages: fresh.map((k) => k.publicB64),
      ...(lastResort ? { lastResort: lastResort.publicB64 } : {}),
    });
    return r.available;
  }

  /** The refs of the key packages whose private halves this device still holds (for tests and audits). */
  async heldKeyPackages(): Promise<{ refs: string[]; lastResort: string | null }> {
    const prefix = this.keyPackageKey('');
    const refs = (await this.store.keys(prefix)).map((k) => k.slice(prefix.length)).sort();
    return { refs, lastResort: (await this.store.get(this.lastResortKey)) ?? null };
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
      await this.saveState(conversationId, await mls.newGroup(conversationId, this.me, this.sig), 0);
      await this.reconcileLocked(conversationId);
    });
  }

  /** Catches up with the group (welcome, commits) and adds or removes devices to match its members. */
  async reconcile(conversationId: string): Promise<void> {
    await this.serial(conversationId, async () => {
      await this.syncLocked(conversationId);
      if (await this.loadState(conversationId)) await this.reconcileLocked(conversationId);
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
      const before = await this.loadState(e.conversationId);
      if (!welcomed && (!before || mls.epochOf(before) >= e.epoch)) return false;
      await this.syncLocked(e.conversationId).catch(() => undefined);
      const after = await this.loadState(e.conversationId);
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
      const before = await this.loadState(e.conversationId);
      if (!before) return false;
      await this.syncLocked(e.conversationId);
      await this.reconcileLocked(e.conversationId);
      const after = await this.loadState(e.conversationId);
      return mls.epochOf(before) !== (after ? mls.epochOf(after) : -1);
    });
  }

  /** Encrypts a text for a conversation's devices, after bringing the group up to date. */
  async encrypt(conversationId: string, text: string, clientMsgId: string): Promise<EncryptedPayload> {
    return this.serial(conversationId, async () => {
      await this.syncLocked(conversationId);
      if (!(await this.loadState(conversationId))) {
        throw new E2EError(
          'NOT_READY',
          "this device has no keys for the conversation yet: another member's device adds it when it is next online",
        );
      }
      await this.reconcileLocked(conversationId);
      const state = (await this.loadState(conversationId))!;
      const { state: next, ciphertextB64 } = await mls.encryptMessage(state, utf8(JSON.stringify({ t: text })));
      if (ciphertextB64.length > CIPHERTEXT_MAX_CHARS)
        throw new E2EError('TOO_LARGE', 'the message is too long once encrypted');
      await this.saveState(conversationId, next);
      await this.store.set(this.plainKey(conversationId, this.userId, clientMsgId), text);
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
      const cacheKey = this.plainKey(conversationId, message.senderId, message.clientMsgId);
      const cached = await this.store.get(cacheKey);
      if (cached !== undefined) return { ok: true, text: cached };
      const payload = message.encrypted;
      const epoch = payload ? mls.ciphertextEpoch(payload.ciphertext) : null;
      if (!payload || epoch === null) return { ok: false, reason: 'corrupt' };

      let state = await this.loadState(conversationId);
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
        state = await this.loadState(conversationId);
      }
      if (!state) return { ok: false, reason: 'keys-missing' };
      const joined = Number((await this.store.get(this.joinedKey(conversationId))) ?? '0');
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
        await this.saveState(conversationId, r.state);
        await this.store.set(cacheKey, text);
        return { ok: true, text };
      } catch {
        return { ok: false, reason: 'corrupt' };
      }
    });
  }

  /** The devices a conversation's group holds now, as this device's copy of the group has them. */
  async groupDevices(conversationId: string): Promise<Array<mls.DeviceRef & { signaturePublicKey: string }>> {
    const state = await this.loadState(conversationId);
    return state
      ? mls.roster(state).map(({ userId, deviceId, signaturePublicKey }) => ({ userId, deviceId, signaturePublicKey }))
      : [];
  }

  /** A user's registered end-to-end devices. */
  async devices(userId: string): Promise<DeviceInfo[]> {
    const list = await this.request<Array<DeviceInfo & { algorithm: string | null }>>(
      'GET',
      `/users/${userId}/devices`,
    );
    return list
      .filter((d) => d.algorithm === mls.CIPHERSUITE)
      .map(({ userId: u, deviceId, publicKey }) => ({ userId: u, deviceId, publicKey }));
  }

  /**
   * How a user's device list changed since this device last acknowledged it (`null` the first time,
   * which is remembered as the baseline). A change means a new device, or a server adding one.
   */
  async deviceChanges(userId: string): Promise<{ added: DeviceInfo[]; removed: DeviceInfo[] } | null> {
    const now = await this.devices(userId);
    const seenRaw = await this.store.get(`seen:${this.userId}:${userId}`);
    if (seenRaw === undefined) {
      await this.acknowledgeDevices(userId, now);
      return null;
    }
    const seen = JSON.parse(seenRaw) as DeviceInfo[];
    const id = (d: DeviceInfo) => `${d.deviceId}/${d.publicKey}`;
    const seenIds = new Set(seen.map(id));
    const nowIds = new Set(now.map(id));
    return { added: now.filter((d) => !seenIds.has(id(d))), removed: seen.filter((d) => !nowIds.has(id(d))) };
  }

  async acknowledgeDevices(userId: string, list?: DeviceInfo[]): Promise<void> {
    await this.store.set(`seen:${this.userId}:${userId}`, JSON.stringify(list ?? (await this.devices(userId))));
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

  private keyPackageKey(ref: string) {
    return `kp:${this.userId}:${ref}`;
  }
  private get lastResortKey() {
    return `kp-last-resort:${this.userId}`;
  }
  private plainKey(conversationId: string, senderId: string, clientMsgId: string) {
    return `pt:${this.userId}:${conversationId}:${senderId}:${clientMsgId}`;
  }
  private joinedKey(conversationId: string) {
    return `joined:${this.userId}:${conversationId}`;
  }
  private stateKey(conversationId: string) {
    return `group:${this.userId}:${conversationId}`;
  }

  private async loadState(conversationId: string): Promise<ClientState | null> {
    const raw = await this.store.get(this.stateKey(conversationId));
    if (!raw) return null;
    const state = mls.decodeState(fromBase64(raw));
    return state.groupActiveState.kind === 'active' ? state : null;
  }

  private async saveState(conversationId: string, state: ClientState, joinedAt?: number): Promise<void> {
    await this.store.set(this.stateKey(conversationId), toBase64(mls.encodeState(state)));
    if (joinedAt !== undefined) await this.store.set(this.joinedKey(conversationId), String(joinedAt));
  }

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
    let state = await this.loadState(conversationId);
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
          await this.store.delete(this.stateKey(conversationId));
          return;
        }
      }
      await this.saveState(conversationId, state);
      if (state.groupActiveState.kind !== 'active' || mls.epochOf(state) >= page.epoch) break;
    }
  }

  /** Joins from this conversation's welcomes (each conversation's state changes under its own lock only). */
  private async processWelcomes(conversationId: string): Promise<void> {
    const welcomes = await this.request<Array<{ id: number; conversationId: string; epoch: number; welcome: string }>>(
      'GET',
      `/e2e/devices/${this.deviceId}/welcomes?conversationId=${conversationId}`,
    );
    if (welcomes.length === 0) return;
    for (const w of welcomes) {
      try {
        const welcome = mls.welcomeOf(w.welcome);
        let joined: ClientState | null = null;
        let usedRef: string | null = null;
        for (const ref of mls.welcomeRefs(welcome)) {
          const priv = await this.store.get(this.keyPackageKey(ref));
          if (priv) joined = await mls.joinFromWelcome(welcome, priv);
          if (joined) {
            usedRef = ref;
            break;
          }
        }
        // A one-time package is spent: the server handed it out once and deleted it, so its private
        // half goes too. The last-resort package may be handed out again: its private half stays.
        if (usedRef && usedRef !== (await this.store.get(this.lastResortKey)))
          await this.store.delete(this.keyPackageKey(usedRef));
        const current = await this.loadState(w.conversationId);
        // A welcome into an older epoch than the state this device has is stale.
        if (joined && (!current || mls.epochOf(joined) > mls.epochOf(current))) {
          // The first state of a group on this device, or a re-add after it was removed or fell too far
          // behind: messages of earlier epochs were not for it (or no longer can be read on it).
          await this.saveState(w.conversationId, joined, mls.epochOf(joined));
          this.rejoinAsked.delete(w.conversationId);
        }
      } catch {
        // A welcome that does not open (not for a key package of this device, corrupt): dropped.
      }
    }
    await this.request('POST', `/e2e/devices/${this.deviceId}/welcomes/ack`, { ids: welcomes.map((w) => w.id) });
    await this.replenishKeyPackages();
  }

  /**
   * This device cannot catch up (the commits it misses are no longer kept): it publishes a fresh key
   * package in a rejoin request, and a member's device that is online re-adds it (`readdLocked`).
   */
  private async askRejoin(conversationId: string): Promise<void> {
    if (Date.now() - (this.rejoinAsked.get(conversationId) ?? 0) < REJOIN_MIN_INTERVAL_MS) return;
    this.rejoinAsked.set(conversationId, Date.now());
    const kp = await mls.newKeyPackage(this.me, this.sig);
    await this.store.set(this.keyPackageKey(kp.ref), kp.privateB64);
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

  /**
   * A member's device asks to be re-added (socket `e2e`, type `rejoin`). Done by a device whose group is
   * at the epoch the request was made in (one commit wins; the others find the epoch moved on), with
   * the package checked like any claimed one: its credential names that device and carries the
   * signature key the device registered, so a server cannot slip in a device of its own.
   */
  private async readdLocked(e: Extract<E2eEvent, { type: 'rejoin' }>): Promise<boolean> {
    const { conversationId } = e;
    if (e.userId === this.userId && e.deviceId === this.deviceId) return false;
    await this.syncLocked(conversationId).catch(() => undefined);
    const state = await this.loadState(conversationId);
    if (!state || mls.epochOf(state) !== e.epoch) return false;
    let kp: KeyPackage;
    try {
      kp = mls.decodeKeyPackageMessage(e.keyPackage);
    } catch {
      return false;
    }
    const target = { userId: e.userId, deviceId: e.deviceId };
    const owner = mls.keyPackageDevice(kp);
    if (!owner || mls.deviceKey(owner) !== mls.deviceKey(target)) return false;
    const group = await this.request<{ epoch: number; devices: DeviceInfo[] }>('GET', `/e2e/groups/${conversationId}`);
    const registered = group.devices.find((d) => mls.deviceKey(d) === mls.deviceKey(target));
    if (group.epoch !== e.epoch || !registered || registered.publicKey !== toBase64(kp.leafNode.signaturePublicKey))
      return false;
    const stale = mls
      .roster(state)
      .filter((r) => mls.deviceKey(r) === mls.deviceKey(target))
      .map((r) => r.leafIndex);
    const out = await mls.commitChanges(state, [kp], stale);
    try {
      await this.request('POST', `/e2e/groups/${conversationId}/commits`, {
        epoch: e.epoch,
        deviceId: this.deviceId,
        commit: out.commitB64,
        ...(out.welcomeB64 ? { welcome: { message: out.welcomeB64, devices: [target] } } : {}),
      });
    } catch (err) {
      if (codeOf(err) === 'CONFLICT') return false; // another device re-added it, or the group moved on
      throw err;
    }
    await this.saveState(conversationId, out.state);
    return true;
  }

  /** Commits that make the group's devices match the server's list of the members' devices. */
  private async reconcileLocked(conversationId: string): Promise<void> {
    let conflicts = 0;
    for (let round = 0; round < 100 && conflicts < COMMIT_RETRIES; round++) {
      const state = await this.loadState(conversationId);
      if (!state) return;
      const group = await this.request<{ epoch: number; devices: DeviceInfo[] }>(
        'GET',
        `/e2e/groups/${conversationId}`,
      );
      if (group.epoch > mls.epochOf(state)) {
        await this.syncLocked(conversationId);
        const caught = await this.loadState(conversationId);
        if (!caught || mls.epochOf(caught) < group.epoch) return; // cannot catch up (docs/e2e.md, limits)
        continue;
      }
      const want = new Map(group.devices.map((d) => [mls.deviceKey(d), d]));
      const have = mls.roster(state);
      const haveKeys = new Set(have.map((r) => mls.deviceKey(r)));
      const remove = have.filter((r) => {
        const w = want.get(mls.deviceKey(r));
        return !w || w.publicKey !== r.signaturePublicKey;
      });
      const removedKeys = new Set(remove.map((r) => mls.deviceKey(r)));
      if (remove.some((r) => r.leafIndex === state.privatePath.leafIndex)) return; // never remove oneself
      const missing = group.devices.filter((d) => !haveKeys.has(mls.deviceKey(d)) || removedKeys.has(mls.deviceKey(d)));
      const add: Array<{ kp: KeyPackage; device: mls.DeviceRef }> = [];
      if (missing.length > 0) {
        const claimed = await this.request<{
          keyPackages: Array<{ userId: string; deviceId: string; keyPackage: string | null }>;
        }>('POST', '/e2e/key-packages/claim', {
          devices: missing.slice(0, ADDS_PER_COMMIT).map((d) => ({ userId: d.userId, deviceId: d.deviceId })),
        });
        for (const c of claimed.keyPackages) {
          if (!c.keyPackage) continue;
          try {
            const kp = mls.decodeKeyPackageMessage(c.keyPackage);
            const owner = mls.keyPackageDevice(kp);
            const registered = want.get(mls.deviceKey(c));
            // The package must be the device's own: same identity, same signature key as registered.
            if (
              owner &&
              mls.deviceKey(owner) === mls.deviceKey(c) &&
              registered &&
              toBase64(kp.leafNode.signaturePublicKey) === registered.publicKey
            ) {
              add.push({ kp, device: { userId: c.userId, deviceId: c.deviceId } });
            }
          } catch {
            // Not a key package: skip the device; it is tried again at the next reconcile.
          }
        }
      }
      if (remove.length === 0 && add.length === 0) return;
      const out = await mls.commitChanges(
        state,
        add.map((a) => a.kp),
        remove.map((r) => r.leafIndex),
      );
      try {
        await this.request('POST', `/e2e/groups/${conversationId}/commits`, {
          epoch: mls.epochOf(state),
          deviceId: this.deviceId,
          commit: out.commitB64,
          ...(out.welcomeB64 && add.length > 0
            ? { welcome: { message: out.welcomeB64, devices: add.map((a) => a.device) } }
            : {}),
        });
      } catch (err) {
        if (codeOf(err) === 'CONFLICT') {
          conflicts++;
          await this.syncLocked(conversationId);
          continue;
        }
        throw err;
      }
      await this.saveState(conversationId, out.state);
      // More devices than one commit adds: the next round claims the rest.
      if (missing.length <= ADDS_PER_COMMIT) return;
    }
  }
}

/** 60 digits (12 groups of 5) from a SHA-512 over the sorted device list. */
export async function safetyNumber(devices: DeviceInfo[]): Promise<string> {
  const lines = devices.map((d) => `${d.userId}/${d.deviceId}/${d.publicKey}`).sort();
  const digest = new Uint8Array(
    await globalThis.crypto.subtle.digest('SHA-512', utf8(`chat-safety-number-v1\n${lines.join('\n')}`)),
  );
  const groups: string[] = [];
  for (let i = 0; i < 12; i++) {
    let n = 0;
    for (let j = 0; j < 5; j++) n = (n * 256 + digest[i * 5 + j]!) % 100000;
    groups.push(String(n).padStart(5, '0'));
  }
  return groups.join(' ');
}

function randomDeviceId(): string {
  const b = new Uint8Array(12);
  globalThis.crypto.getRandomValues(b);
  return toBase64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
