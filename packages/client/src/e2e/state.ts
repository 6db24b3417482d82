import type { ClientState } from 'ts-mls';
import * as mls from './mls';
import { fromBase64, toBase64 } from './bytes';
import type { E2EStore } from './store';
import type { E2ERequest } from './types';

/** A device's identity as kept in its store: the signature private key never leaves it. */
export interface Identity {
  deviceId: string;
  signKey: string;
  publicKey: string;
}

/** Loads a user's device identity from the store, creating it on first use (a new signature key pair). */
export async function loadOrCreateIdentity(store: E2EStore, userId: string, deviceId?: string): Promise<Identity> {
  const key = `device:${userId}`;
  let identity = JSON.parse((await store.get(key)) ?? 'null') as Identity | null;
  if (!identity) {
    const sig = await mls.newSignatureKeys();
    identity = {
      deviceId: deviceId ?? randomDeviceId(),
      signKey: toBase64(sig.signKey),
      publicKey: toBase64(sig.publicKey),
    };
    await store.set(key, JSON.stringify(identity));
  }
  return identity;
}

function randomDeviceId(): string {
  const b = new Uint8Array(12);
  globalThis.crypto.getRandomValues(b);
  return toBase64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The names of what a device keeps in its store (every key carries its user id, so that `remove`
 * finds them all) and its MLS group states, one per conversation.
 */
export class DeviceStorage {
  constructor(
    readonly store: E2EStore,
    private readonly userId: string,
  ) {}

  keyPackageKey(ref: string) {
    return `kp:${this.userId}:${ref}`;
  }
  get lastResortKey() {
    return `kp-last-resort:${this.userId}`;
  }
  plainKey(conversationId: string, senderId: string, clientMsgId: string) {
    return `pt:${this.userId}:${conversationId}:${senderId}:${clientMsgId}`;
  }
  joinedKey(conversationId: string) {
    return `joined:${this.userId}:${conversationId}`;
  }
  stateKey(conversationId: string) {
    return `group:${this.userId}:${conversationId}`;
  }
  /** The device list of `userId` this device last acknowledged. */
  seenKey(userId: string) {
    return `seen:${this.userId}:${userId}`;
  }

  /** A conversation's group state, or null when this device has none or was removed from the group. */
  async loadState(conversationId: string): Promise<ClientState | null> {
    const raw = await this.store.get(this.stateKey(conversationId));
    if (!raw) return null;
    const state = mls.decodeState(fromBase64(raw));
    return state.groupActiveState.kind === 'active' ? state : null;
  }

  /** Keeps a group state; `joinedAt`, the epoch it joined at, when it is a new (or renewed) membership. */
  async saveState(conversationId: string, state: ClientState, joinedAt?: number): Promise<void> {
    await this.store.set(this.stateKey(conversationId), toBase64(mls.encodeState(state)));
    if (joinedAt !== undefined) await this.store.set(this.joinedKey(conversationId), String(joinedAt));
  }
}

/** What the device's modules share: its API access, its storage and its keys. */
export interface DeviceContext {
  readonly request: E2ERequest;
  readonly storage: DeviceStorage;
  readonly userId: string;
  readonly deviceId: string;
  readonly me: mls.DeviceRef;
  readonly sig: mls.SignatureKeys;
}

export function deviceContext(request: E2ERequest, store: E2EStore, userId: string, identity: Identity): DeviceContext {
  return {
    request,
    storage: new DeviceStorage(store, userId),
    userId,
    deviceId: identity.deviceId,
    get me() {
      return { userId, deviceId: identity.deviceId };
    },
    get sig() {
      return { signKey: fromBase64(identity.signKey), publicKey: fromBase64(identity.publicKey) };
    },
  };
}
