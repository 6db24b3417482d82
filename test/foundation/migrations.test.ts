/**
 * Each service's migrations agree with its drizzle schema: `drizzle-kit generate` over a copy of the
 * migrations folder finds nothing to migrate (a schema change without its migration, or a snapshot that
 * lost part of the schema, fails here), and `drizzle-kit check` finds the snapshot chain consistent.
 * Run with the service's own config, its schema files and `out` pointed at the copy.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { root } from '@chat/testkit';
import accounts from '../../services/accounts/drizzle.config';
import persistence from '../../services/persistence/drizzle.config';

jest.setTimeout(120_000);

const configs = { accounts, persistence };

/** drizzle-kit in `cwd`; its whole output (it reports on stderr too), and fails the test on a non-zero exit. */
function drizzleKit(cwd: string, args: string[]): string {
  const r = spawnSync(join(root, 'node_modules', '.bin', 'drizzle-kit'), args, { cwd, encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`drizzle-kit ${args.join(' ')} exited ${r.status}:\n${out}`);
  return out;
}

describe.each(Object.entries(configs))('%s migrations', (service, config) => {
  const dir = join(root, 'services', service);
  let tmp: string;
  let configFile: string;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), `chat-drizzle-${service}-`));
    cpSync(join(dir, 'drizzle'), join(tmp, 'drizzle'), { recursive: true });
    const schema = ([] as string[]).concat(config.schema ?? []).map((p) => resolve(dir, p));
    configFile = join(tmp, 'drizzle.config.ts');
    writeFileSync(configFile, `export default ${JSON.stringify({ ...config, schema, out: './drizzle' })};\n`);
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('match the schema: drizzle-kit generate has nothing to add', () => {
    const before = readdirSync(join(tmp, 'drizzle')).sort();
    const out = drizzleKit(tmp, ['generate', '--config', configFile]);
    expect(out).toContain('No schema changes, nothing to migrate');
    expect(readdirSync(join(tmp, 'drizzle')).sort()).toEqual(before);
  });

  it('form a consistent snapshot chain: drizzle-kit check', () => {
    expect(drizzleKit(tmp, ['check', '--config', configFile])).toContain("Everything's fine");
  });
});
