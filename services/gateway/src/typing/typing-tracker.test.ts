import { TypingTracker } from './typing-tracker';

function tracker(refreshMs = 3_000, expireMs = 6_000) {
  const out: Array<[string, string, boolean]> = [];
  const t = new TypingTracker({ refreshMs, expireMs, publish: async (c, u, typing) => void out.push([c, u, typing]) });
  return { t, out };
}

describe('TypingTracker', () => {
  afterEach(() => jest.useRealTimers());

  it('forwards a change at once and a refresh of true at most every refreshMs', () => {
    const { t, out } = tracker();
    for (let i = 0; i < 50; i++) void t.set('u', 'c', true, 1_000 + i * 20);
    expect(out).toEqual([['c', 'u', true]]);
    void t.set('u', 'c', true, 4_000);
    expect(out).toHaveLength(2);
    void t.set('u', 'c', false, 4_001);
    expect(out[2]).toEqual(['c', 'u', false]);
    // false when nothing is shown publishes nothing
    expect(t.set('u', 'c', false, 4_002)).toBeNull();
    expect(out).toHaveLength(3);
    t.close();
  });

  it('expires a true that is not refreshed, and a refresh postpones the expiry', () => {
    jest.useFakeTimers();
    const { t, out } = tracker(3_000, 6_000);
    void t.set('u', 'c', true, 0);
    jest.advanceTimersByTime(2_000);
    void t.set('u', 'c', true, 2_000); // refresh (throttled, not published) resets the timer
    jest.advanceTimersByTime(5_900);
    expect(out).toEqual([['c', 'u', true]]);
    jest.advanceTimersByTime(200);
    expect(out).toEqual([
      ['c', 'u', true],
      ['c', 'u', false],
    ]);
    expect(t.size).toBe(0);
  });

  it('clears on a send in that conversation and on the user leaving, only what is shown', () => {
    const { t, out } = tracker();
    void t.set('u', 'c1', true);
    void t.set('u', 'c2', true);
    void t.set('v', 'c1', true);
    t.sent('u', 'c1');
    t.sent('u', 'c3');
    expect(out.slice(3)).toEqual([['c1', 'u', false]]);
    t.userGone('u');
    expect(out.slice(4)).toEqual([['c2', 'u', false]]);
    expect(t.size).toBe(1);
    t.close();
  });
});
