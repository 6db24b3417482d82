import { createHash, randomBytes } from 'node:crypto';

/** Opaque refresh tokens: 32 random bytes, base64url. Only their SHA-256 is ever stored. */
export const newRefreshToken = (): string => randomBytes(32).toString('base64url');
export const hashRefreshToken = (token: string): string => createHash('sha256').update(token).digest('base64url');
