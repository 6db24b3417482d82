import { SessionRegistry } from './sessions';

describe('SessionRegistry', () => {
  let now = 1_000;
  const reg = () => new SessionRegistry(() => now);
  beforeEach(() => {
    now = 1_000;
  });

  it('routes each user to the gateways holding them, a user on two gateways to both', () => {
    const r = reg();
    r.heartbeat('g1', ['a', 'b'], 10_000);
    r.heartbeat('g2', ['b', 'c'], 10_000);
    expect(Object.fromEntries(r.route(['a', 'b', 'c', 'd']))).toEqual({ g1: ['a', 'b'], g2: ['b', 'c'] });
  });

  it('follows presence reports between heartbeats, and a heartbeat replaces the whole list', () => {
    const r = reg();
    r.heartbeat('g1', ['a'], 10_000);
    r.reported('g1', 'b', true);
    r.reported('g1', 'a', false);
    expect(Object.fromEntries(r.route(['a', 'b']))).toEqual({ g1: ['b'] });
    r.heartbeat('g1', ['a'], 10_000);
    expect(Object.fromEntries(r.route(['a', 'b']))).toEqual({ g1: ['a'] });
  });

  it('forgets a gateway whose heartbeats stopped (it died)', () => {
    const r = reg();
    r.heartbeat('g1', ['a'], 1_000);
    r.heartbeat('g2', ['a'], 10_000);
    now += 2_600;
    expect(Object.fromEntries(r.route(['a']))).toEqual({ g2: ['a'] });
    expect(r.sweep()).toEqual(['g1']);
    expect(r.gatewayCount).toBe(1);
  });

  it('learns a gateway from a presence report before its first heartbeat', () => {
    const r = reg();
    r.reported('g9', 'a', true);
    expect(Object.fromEntries(r.route(['a']))).toEqual({ g9: ['a'] });
  });
});
