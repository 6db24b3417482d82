import { isTransientDbError } from './index';

describe('isTransientDbError', () => {
  it('recognises a driver error that says the database is unreachable', () => {
    expect(
      isTransientDbError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    expect(isTransientDbError(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(
      isTransientDbError(
        Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      ),
    ).toBe(true);
  });

  it('looks through the query builder wrapping the driver error', () => {
    const wrapped = new Error('Failed query: select ...', {
      cause: new Error('timeout exceeded when trying to connect'),
    });
    expect(isTransientDbError(wrapped)).toBe(true);
  });

  it('does not call a bug or a constraint violation transient', () => {
    expect(isTransientDbError(new TypeError('x is undefined'))).toBe(false);
    expect(
      isTransientDbError(
        new Error('Failed query', { cause: Object.assign(new Error('duplicate key'), { code: '23505' }) }),
      ),
    ).toBe(false);
    expect(isTransientDbError(null)).toBe(false);
  });
});
