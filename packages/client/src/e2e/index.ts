/** End-to-end encryption for any client of the public API: the web client and Node clients alike. */
export { E2EDevice } from './device';
export { safetyNumber } from './devices';
export { E2EError, undecryptableText, CIPHERTEXT_MAX_CHARS, MLS_NONCE_LABEL } from './types';
export type {
  DecryptResult,
  DeviceInfo,
  E2ERequest,
  EncryptedMessageLike,
  EncryptedPayload,
  OpenDeviceOptions,
  Undecryptable,
} from './types';
export { MemoryStore, type E2EStore } from './store';
export { CIPHERSUITE } from './mls';
