import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@chat/testkit';

describe('accounts migrations', () => {
  let tdb: TestDatabase;
  let c: Client;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    c = new Client({ connectionString: tdb.url });
    await c.connect();
  });
  afterAll(async () => {
    await c.end();
    await tdb.drop();
  });

  it('stores usernames lowercased only and keeps a direct pair ordered and unique', async () => {
    await expect(
      c.query(`insert into accounts.users (username, display_name, password_hash) values ('Bob', 'b', 'x')`),
    ).rejects.toThrow(/users_username_lower/);
    const { rows } = await c.query(
      `insert into accounts.users (username, display_name, password_hash) values ('a1', 'a', 'x'), ('b1', 'b', 'x') returning id`,
    );
    const [a, b] = rows.map((r) => r.id as string).sort();
    await c.query(`insert into accounts.conversations (kind, direct_a, direct_b) values ('direct', $1, $2)`, [a, b]);
    await expect(
      c.query(`insert into accounts.conversations (kind, direct_a, direct_b) values ('direct', $1, $2)`, [a, b]),
    ).rejects.toThrow(/conversations_direct_pair_key/);
    await expect(
      c.query(`insert into accounts.conversations (kind, direct_a, direct_b) values ('direct', $2, $1)`, [a, b]),
    ).rejects.toThrow(/conversations_direct_shape/);
    await c.query(`insert into accounts.conversations (kind, title) values ('room', 'r'), ('room', 'r')`);
  });
});
