import type { RevokedSessions } from '@chat/auth';
import type { Logger } from '@chat/logger';
import type { Config } from './config';
import type { Db, Tx } from './repositories/types';
import type { SigningKeys } from './auth/key-store';
import type { PasswordChecker } from './auth/passwords';
import type { Limits } from './limits/limits';
import type { SummariesClient } from './clients/summaries.client';

/** What the routes and domain modules share (`Deps`, the one name in every service): built once in buildApp, passed down explicitly. */
export interface Deps {
  db: Db;
  config: Config;
  logger: Logger;
  keys: SigningKeys;
  passwords: PasswordChecker;
  limits: Limits;
  summaries: SummariesClient;
  /** Wakes the outbox relay after a commit. */
  kickOutbox: () => void;
  /** Ended sessions whose access tokens are refused (fed by `session.revoked`, loaded at start-up). */
  revoked: RevokedSessions;
}

/** Runs `fn` in one transaction; after the commit, wakes the outbox relay to publish its events. */
export async function transact<T>(ctx: Deps, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const result = await ctx.db.transaction(fn);
  ctx.kickOutbox();
  return result;
}
