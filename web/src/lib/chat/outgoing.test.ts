import { HOLD_MAX_MS, HOLD_MIN_MS, holdDelay } from './outgoing';

describe('the rate-limit hold', () => {
  it('waits as long as the server says, within bounds, and 1 s when it said nothing', () => {
    expect(holdDelay(2500)).toBe(2500);
    expect(holdDelay(undefined)).toBe(1000);
    expect(holdDelay(0)).toBe(HOLD_MIN_MS);
    expect(holdDelay(10 * 60_000)).toBe(HOLD_MAX_MS);
  });
});
