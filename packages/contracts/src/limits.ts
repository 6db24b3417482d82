/** Limits of the public API (API.md). Room size is configurable at the accounts service. */
export const limits = {
  usernameMin: 3,
  usernameMax: 32,
  passwordMin: 8,
  passwordMax: 256,
  displayNameMax: 64,
  textMin: 1,
  textMax: 4000,
  titleMin: 1,
  titleMax: 100,
  defaultRoomSize: 1000,
  bodyLimitBytes: 64 * 1024,
  pageDefault: 50,
  pageMax: 100,
  searchResults: 20,
  encryptedMaxChars: 16000,
  /** The whole encrypted payload, as UTF-8 JSON. */
  encryptedMaxBytes: 128 * 1024,
  /** One Socket.IO frame (the server's maxHttpBufferSize): an encrypted send at its limit fits. */
  socketFrameMaxBytes: 192 * 1024,
  /** A history page stops early (hasMore: true) once its messages pass this many bytes. */
  historyPageMaxBytes: 2 * 1024 * 1024,
  /** Device keys one user may register. */
  deviceKeysPerUser: 10,
} as const;
