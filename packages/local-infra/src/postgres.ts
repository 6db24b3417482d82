import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { isRoot, run, start, which } from './proc';
import { keepServer, type SuperviseOptions } from './keeper';

export interface LocalPostgres {
  url: (database: string) => string;
  port: number;
  stop: () => Promise<void>;
  /** The running postmaster's process group leader, if any. */
  pid: () => number | undefined;
  restarts: () => number;
}

export interface PostgresOptions {
  dataDir: string;
  port: number;
  user?: string;
  password?: string;
  /** Trades durability for speed: only for throwaway test data. */
  fast?: boolean;
  onOutput?: (line: string) => void;
  /** Restart it with a backoff when it dies on its own (the dev runners). */
  supervise?: SuperviseOptions;
}

export function findPostgresBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const pg = which('postgres');
  return pg ? pg.replace(/\/postgres$/, '') : null;
}

/** initdb and postgres refuse to run as root: run them as the `postgres` account, or `nobody`. */
function serverUser(): string | undefined {
  if (!isRoot()) return undefined;
  try {
    run('id', ['postgres']);
    return 'postgres';
  } catch {
    return 'nobody';
  }
}

export async function startPostgres(opts: PostgresOptions): Promise<LocalPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found: apt-get install -y postgresql');
  const user = opts.user ?? 'chat';
  const password = opts.password ?? 'chat';
  const asUser = serverUser();
  const dataDir = opts.dataDir;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true });
    if (asUser) {
      // The server's account must be able to reach its folder.
      chmodSync(dirname(dataDir), 0o755);
      chownSync(dataDir, ...uidGid(asUser));
    }
    chmodSync(dataDir, 0o700);
    run(join(bin, 'initdb'), ['-D', dataDir, '-U', user, '--auth=trust', '-E', 'UTF8', '--no-locale'], { asUser });
  }
  const args = [
    '-D',
    dataDir,
    '-p',
    String(opts.port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-k',
    dataDir,
    '-c',
    'max_connections=300',
  ];
  if (opts.fast) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const url = (db: string) => `postgres://${user}:${password}@127.0.0.1:${opts.port}/${db}`;
  const keeper = keepServer({
    name: 'postgres',
    what: `postgres on port ${opts.port}`,
    spawn: () => start(join(bin, 'postgres'), args, { asUser, detached: true }),
    ready: async () => {
      const c = new Client({ connectionString: url('postgres') });
      await c.connect();
      await c.end();
      return true;
    },
    timeoutMs: 30_000,
    onOutput: opts.onOutput,
    supervise: opts.supervise,
  });
  await keeper.start();
  return {
    url,
    port: opts.port,
    stop: () => keeper.stop('SIGINT', 15_000),
    pid: () => keeper.current?.pid,
    restarts: () => keeper.restarts,
  };
}

export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const r = await c.query('select 1 from pg_database where datname = $1', [name]);
    if (r.rowCount === 0) await c.query(`create database "${name.replace(/"/g, '')}"`);
  } finally {
    await c.end();
  }
}

function uidGid(user: string): [number, number] {
  const out = run('id', ['-u', user]).trim();
  const gid = run('id', ['-g', user]).trim();
  return [Number(out), Number(gid)];
}
