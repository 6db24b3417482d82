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
} as const;
