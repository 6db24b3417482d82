import { z } from 'zod';
import { ConfigError, baseEnv, env, loadConfig } from './index';

const schema = baseEnv.extend({ PORT: env.port(3000), AMQP_URL: env.amqpUrl(), DATABASE_URL: env.databaseUrl() });

describe('loadConfig', () => {
  it('gives each process its own INSTANCE_ID by default, and refuses one that cannot name a queue', () => {
    const ids = baseEnv.extend({ INSTANCE_ID: env.instanceId() });
    const a = loadConfig(ids, {}).INSTANCE_ID;
    expect(a).toMatch(new RegExp(`^[A-Za-z0-9_.-]+-${process.pid}-[0-9a-f]{6}$`));
    expect(loadConfig(ids, {}).INSTANCE_ID).not.toBe(a);
    expect(loadConfig(ids, { INSTANCE_ID: 'gw-1' }).INSTANCE_ID).toBe('gw-1');
    expect(() => loadConfig(ids, { INSTANCE_ID: 'has space' })).toThrow(/^invalid configuration: INSTANCE_ID: /);
  });

  it('applies defaults', () => {
    const c = loadConfig(schema, {});
    expect(c.PORT).toBe(3000);
    expect(c.AMQP_URL).toBe('amqp://guest:guest@127.0.0.1:5672');
    expect(c.LOG_LEVEL).toBe('info');
  });

  it('names every bad variable in one error', () => {
    let err: unknown;
    try {
      loadConfig(schema, { AMQP_URL: 'nonsense', PORT: 'abc', DATABASE_URL: 'mysql://x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^AMQP_URL: must be a URL starting with amqp:\/\//m);
    expect(problems).toMatch(/^PORT: /m);
    expect(problems).toMatch(/^DATABASE_URL: /m);
    expect((err as Error).message.split('\n')).toHaveLength(1);
  });

  it('takes a comma-separated list of broker URLs (a cluster) and refuses a list with a bad entry', () => {
    const list = 'amqp://u:p@127.0.0.1:5672, amqp://u:p@127.0.0.1:5673,amqps://u:p@rabbit-3:5671';
    expect(loadConfig(schema, { AMQP_URL: list }).AMQP_URL).toBe(list);
    expect(() => loadConfig(schema, { AMQP_URL: 'amqp://127.0.0.1:5672,http://127.0.0.1:5673' })).toThrow(
      /AMQP_URL: must be a URL starting with amqp:\/\/ or amqps:\/\/, or several/,
    );
    expect(() => loadConfig(schema, { AMQP_URL: 'amqp://127.0.0.1:5672,' })).toThrow(ConfigError);
  });

  it('parses booleans strictly', () => {
    const s = z.object({ FLAG: env.bool(false) });
    expect(loadConfig(s, { FLAG: '1' }).FLAG).toBe(true);
    expect(() => loadConfig(s, { FLAG: 'yes' })).toThrow(ConfigError);
  });
});
