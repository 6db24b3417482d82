import { Counter, Registry } from 'prom-client';
import type { Database } from '@chat/db';
import type { Logger } from '@chat/logger';
import { createAccountsClient, type AccountsClient } from './clients/accounts.client';
import type { Config } from './config';
import { createMembersRepository } from './db/members.repository';
import { createMessagesRepository } from './db/messages.repository';
import { createReadMarkersRepository } from './db/read-markers.repository';
import type { Schema } from './db/schema';
import { createSummariesRepository } from './db/summaries.repository';
import { createMembership } from './domain/membership';

export interface CoreDeps {
  config: Pick<Config, 'ACCOUNTS_URL' | 'MEMBER_CACHE_MS'>;
  logger: Logger;
  database: Database<Schema>;
  /** Defaults to HTTP calls to ACCOUNTS_URL. */
  accounts?: AccountsClient;
  registry?: Registry;
}

/** What the HTTP routes and the consumer share: repositories, the membership cache, metrics. */
export function createCore(deps: CoreDeps) {
  const db = deps.database.db;
  const registry = deps.registry ?? new Registry();
  const members = createMembersRepository(db);
  return {
    database: deps.database,
    db,
    messages: createMessagesRepository(db),
    members,
    readMarkers: createReadMarkersRepository(db),
    summaries: createSummariesRepository(deps.database.pool),
    membership: createMembership({
      db,
      members,
      accounts: deps.accounts ?? createAccountsClient(deps.config.ACCOUNTS_URL),
      cacheMs: deps.config.MEMBER_CACHE_MS,
      logger: deps.logger,
    }),
    metrics: {
      stored: new Counter({ name: 'persistence_messages_stored_total', help: 'Messages inserted into history', registers: [registry] }),
      duplicates: new Counter({ name: 'persistence_messages_duplicate_total', help: 'message.created events already in history (resends, redeliveries)', registers: [registry] }),
    },
  };
}
export type Core = ReturnType<typeof createCore>;
