import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '@chat/contracts';

/**
 * One named limit over rate-limiter-flexible's Postgres store: `max` points per `windowMs` per key,
 * counted in one table every accounts instance shares, so N instances still allow the limit once.
 */
export interface Limiter {
  readonly name: string;
  readonly max: number;
  readonly windowMs: number;
  /** Takes one point; throws RATE_LIMITED (with retryAfterMs) when none is left. */
  consume(key: string, reply?: FastifyReply): Promise<void>;
  /** Refuses, without taking a point, when `key` has used up its points. */
  check(key: string, reply?: FastifyReply): Promise<void>;
  /** Counts a point without refusing (a failed login). */
  penalty(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

/**
 * The standard headers (draft-ietf-httpapi-ratelimit-headers): `RateLimit-Policy: <max>;w=<window s>`
 * and `RateLimit: limit=<max>, remaining=<n>, reset=<s>` for the limit a route just consumed.
 */
export function rateLimitHeaders(reply: FastifyReply, l: { max: number; windowMs: number }, res: RateLimiterRes): void {
  reply.header('ratelimit-policy', `${l.max};w=${Math.ceil(l.windowMs / 1000)}`);
  reply.header(
    'ratelimit',
    `limit=${l.max}, remaining=${Math.max(0, res.remainingPoints)}, reset=${Math.ceil(res.msBeforeNext / 1000)}`,
  );
}

const refusal = (name: string, res: RateLimiterRes) =>
  new AppError('RATE_LIMITED', `too many ${name}, try again later`, { retryAfterMs: Math.max(1, res.msBeforeNext) });

export function createLimiter(
  pool: Pool,
  opts: { name: string; description: string; max: number; windowMs: number },
): Limiter {
  const rl = new RateLimiterPostgres({
    storeClient: pool,
    storeType: 'pool',
    schemaName: 'accounts',
    tableName: 'rate_limits',
    tableCreated: true, // by the migration: no DDL at run time
    clearExpiredByTimeout: true,
    keyPrefix: opts.name,
    points: opts.max,
    duration: Math.ceil(opts.windowMs / 1000),
  });
  const limiter: Limiter = {
    name: opts.name,
    max: opts.max,
    windowMs: opts.windowMs,
    async consume(key, reply) {
      try {
        const res = await rl.consume(key);
        if (reply) rateLimitHeaders(reply, limiter, res);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) throw err; // the store failed: a transient error, 503
        if (reply) rateLimitHeaders(reply, limiter, err);
        throw refusal(opts.description, err);
      }
    },
    async check(key, reply) {
      const res = await rl.get(key);
      if (res && res.consumedPoints >= opts.max) {
        if (reply) rateLimitHeaders(reply, limiter, res);
        throw refusal(opts.description, res);
      }
    },
    async penalty(key) {
      await rl.penalty(key, 1);
    },
    async reset(key) {
      await rl.delete(key);
    },
  };
  return limiter;
}

/** A preHandler that takes one point of `limiter` for the key of the request. */
export const limitBy =
  (limiter: Limiter, keyOf: (req: FastifyRequest) => string) => async (req: FastifyRequest, reply: FastifyReply) => {
    await limiter.consume(keyOf(req), reply);
  };
