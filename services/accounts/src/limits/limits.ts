import type { Pool } from 'pg';
import type { Config } from '../config';
import { createLimiter, type Limiter } from './limiter';

/** Every limit accounts enforces, all in the shared Postgres store (they hold across instances). */
export interface Limits {
  /** Registrations per client address: each costs an argon2 hash. */
  register: Limiter;
  /** Login attempts per client address, whatever the username (one client spraying many accounts). */
  loginAddress: Limiter;
  /**
   * Failed logins per (username, address): guessing from one place locks out that place only; a
   * success clears it. So ten wrong passwords from an attacker do not lock the owner out elsewhere.
   */
  loginPair: Limiter;
  /** Failed logins per username from anywhere: a much higher bar, against guessing spread over many addresses. */
  loginUser: Limiter;
  rooms: Limiter;
  invitations: Limiter;
  friendRequests: Limiter;
  /**
   * End-to-end rejoin requests per (device, conversation): each one makes the members' online devices
   * commit a re-add, so a device may ask once per E2E_REJOIN_WINDOW_MS (the client waits as long).
   */
  e2eRejoin: Limiter;
  /** New devices announced to the members of a user's encrypted conversations, per user (beyond: not announced). */
  e2eDeviceAnnounce: Limiter;
}

export function createLimits(pool: Pool, c: Config): Limits {
  const action = c.ACTION_RATE_WINDOW_MS;
  return {
    register: createLimiter(pool, {
      name: 'register',
      description: 'registrations from this address',
      max: c.REGISTER_RATE_MAX_PER_ADDRESS,
      windowMs: action,
    }),
    loginAddress: createLimiter(pool, {
      name: 'login-address',
      description: 'login attempts',
      max: c.LOGIN_RATE_MAX_PER_ADDRESS,
      windowMs: c.LOGIN_RATE_WINDOW_MS,
    }),
    loginPair: createLimiter(pool, {
      name: 'login-pair',
      description: 'login attempts',
      max: c.LOGIN_RATE_MAX_PER_USERNAME,
      windowMs: c.LOGIN_RATE_WINDOW_MS,
    }),
    loginUser: createLimiter(pool, {
      name: 'login-user',
      description: 'login attempts',
      max: c.LOGIN_RATE_MAX_PER_USERNAME_ANYWHERE,
      windowMs: c.LOGIN_RATE_ANYWHERE_WINDOW_MS,
    }),
    rooms: createLimiter(pool, {
      name: 'rooms',
      description: 'rooms created',
      max: c.ROOM_CREATE_RATE_MAX,
      windowMs: action,
    }),
    invitations: createLimiter(pool, {
      name: 'invitations',
      description: 'invitations',
      max: c.INVITE_RATE_MAX,
      windowMs: action,
    }),
    friendRequests: createLimiter(pool, {
      name: 'friend-requests',
      description: 'friend requests',
      max: c.FRIEND_REQUEST_RATE_MAX,
      windowMs: action,
    }),
    e2eRejoin: createLimiter(pool, {
      name: 'e2e-rejoin',
      description: 'rejoin requests for this device',
      max: 1,
      windowMs: c.E2E_REJOIN_WINDOW_MS,
    }),
    e2eDeviceAnnounce: createLimiter(pool, {
      name: 'e2e-device-announce',
      description: 'new devices announced',
      max: c.E2E_DEVICE_ANNOUNCE_MAX,
      windowMs: action,
    }),
  };
}
