import type { E2EStore } from './store';

/** The public types, errors and limits of end-to-end encryption (docs/e2e.md), shared by its modules. */

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

/** The payload `nonce` field: MLS carries its own nonce inside the ciphertext (reuse guard included). */
export const MLS_NONCE_LABEL = 'mls';
/** Largest `ciphertext` the server takes (docs/api.md, Limits). */
export const CIPHERTEXT_MAX_CHARS = 16_000;
/** Key packages a device keeps on the server; it tops them up when fewer than half remain. */
export const KEY_PACKAGE_TARGET = 20;
export const COMMIT_RETRIES = 5;
/** A message that needs newer keys fetches them at most this often per conversation. */
export const SYNC_MIN_INTERVAL_MS = 1_000;
/**
 * Devices added by one commit: each adds about 500 characters to the commit (its key package), which
 * the server bounds at 30000 (docs/api.md, Limits). More are added by the following commits.
 */
export const ADDS_PER_COMMIT = 40;
/** A device too far behind to catch up asks to be re-added at most this often per conversation. */
export const REJOIN_MIN_INTERVAL_MS = 30_000;

/** The `code` of an error thrown by an `E2ERequest`, if it has one. */
export const codeOf = (err: unknown): string | undefined =>
  err && typeof err === 'object' && 'code' in err ? String(err.code) : undefined;
