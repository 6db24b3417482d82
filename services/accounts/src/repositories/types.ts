import type { NodePgDatabase } from '@chat/db';
import type { schema } from './schema';

export type Db = NodePgDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** What a repository runs its queries on: the pool or an open transaction. */
export type Executor = Db | Tx;
