/** End-to-end encryption for any client of the public API: the web client and Node clients alike. */
export { E2EDevice, E2EError, safetyNumber, undecryptableText, CIPHERTEXT_MAX_CHARS, MLS_NONCE_LABEL } from './device';
export type {
  DecryptResult,
  DeviceInfo,
  E2ERequest,
  EncryptedMessageLike,
  EncryptedPayload,
  OpenDeviceOptions,
  Undecryptable,
} from './device';
export { MemoryStore, type E2EStore } from './store';
export { CIPHERSUITE } from './mls';
