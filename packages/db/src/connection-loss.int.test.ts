import { Client } from 'pg';
import { silentLogger } from '@chat/logger';
import { createDatabase } from './index';

/**
 * A client checked out of the pool (a transaction between two of its queries) whose server connection
 * ends: the process must survive (before, the client's unhandled 'error' crashed it: a Postgres stop
 * killed persistence mid-batch), the client's next query fails, and the pool serves fresh clients.
 */
describe('a checked-out client losing its connection', () => {
  const url = process.env.CHAT_TEST_PG_ADMIN_URL!;
  const database = createDatabase(url, {}, silentLogger());
  afterAll(() => database.close());

  it('fails that client only, without an uncaught error, and the pool recovers', async () => {
    const client = await database.pool.connect();
    await client.query('begin');
    const pid = Number((await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
    const lost = new Promise<void>((resolve) => client.once('end', () => resolve()));

    const admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.end();
    await lost; // the server's error and the socket's end reached the idle, checked-out client

    await expect(client.query('select 1')).rejects.toThrow();
    client.release(true);
    expect((await database.pool.query<{ one: number }>('select 1 as one')).rows[0]!.one).toBe(1);
  });
});
