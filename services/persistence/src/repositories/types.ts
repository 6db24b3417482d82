import type { NodePgDatabase } from '@chat/db';
import type { Schema } from './schema';

export type Db = NodePgDatabase<Schema>;
/** A transaction handed out by `db.transaction`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Repositories take either, so the consumer can run several of them in one transaction. */
export type Executor = Db | Tx;
