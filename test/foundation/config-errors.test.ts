/**
 * A malformed setting stops a service at start-up with one clear line naming the variable: no stack
 * trace, no half-started process.
 */
import { startServiceProcess } from '@chat/testkit';

const services = ['delivery', 'gateway', 'accounts', 'persistence'];

describe('a service started with AMQP_URL=nonsense', () => {
  it.each(services)('%s exits non-zero at once with one stderr line naming AMQP_URL', async (name) => {
    const p = startServiceProcess(name, { AMQP_URL: 'nonsense', PORT: '0' });
    const code = await p.exited;
    const lines = p
      .stderr()
      .split('\n')
      .filter((l) => l.trim());
    expect({ code, lines }).toEqual({ code: expect.any(Number), lines: [expect.stringContaining('AMQP_URL')] });
    expect(code).not.toBe(0);
    expect(p.stderr()).not.toMatch(/^\s+at /m);
    expect(p.stdout()).toBe('');
    // It exited by itself (no hang) having written nothing to stdout: it neither listened nor connected.
  });

  it('names every bad variable on that one line', async () => {
    const p = startServiceProcess('delivery', { AMQP_URL: 'nonsense', PORT: 'abc' });
    expect(await p.exited).not.toBe(0);
    const lines = p
      .stderr()
      .split('\n')
      .filter((l) => l.trim());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/AMQP_URL/);
    expect(lines[0]).toMatch(/PORT/);
  });
});
