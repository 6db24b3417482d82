import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once into a typed object. Every problem is listed, each naming its variable,
 * so a misconfigured service says in one line what to fix.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const res = schema.safeParse(env);
  if (res.success) return res.data;
  throw new ConfigError(res.error.issues.map((i) => `${i.path.join('.') || 'env'}: ${i.message}`));
}

/** Runs `main`, turning a ConfigError into one clear line on stderr and exit code 78 (EX_CONFIG). */
export function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78);
  }
  throw err;
}

const urlWith = (protocols: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** One URL, or several comma-separated (a cluster's nodes), each with one of `protocols`. */
const urlListWith = (protocols: string[]) =>
  z.string().refine(
    (s) => {
      const parts = s.split(',').map((p) => p.trim());
      return parts.every((p) => {
        try {
          return protocols.includes(new URL(p).protocol);
        } catch {
          return false;
        }
      });
    },
    {
      message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}, or several separated by commas`,
    },
  );

/** Reusable variable schemas. */
export const env = {
  port: (def: number) => z.coerce.number().int().min(0).max(65535).default(def),
  host: (def = '127.0.0.1') => z.string().min(1).default(def),
  /** RabbitMQ: one node, or a cluster's nodes comma-separated (the broker client rotates through them). */
  amqpUrl: () => urlListWith(['amqp:', 'amqps:']).default('amqp://guest:guest@127.0.0.1:5672'),
  databaseUrl: () => urlWith(['postgres:', 'postgresql:']).default('postgres://chat:chat@127.0.0.1:5432/chat'),
  httpUrl: (def: string) => urlWith(['http:', 'https:']).default(def),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  int: (def: number, min = 0) => z.coerce.number().int().min(min).default(def),
  /**
   * A process's own name among its peers (it names its private queues): letters, digits, `_.-`, up to
   * 100; by default the host name, the pid and a random suffix, unique per process.
   */
  instanceId: () =>
    z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,100}$/)
      .default(
        () =>
          `${hostname()
            .replace(/[^A-Za-z0-9_.-]/g, '-')
            .slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`,
      ),
  bool: (def: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
};

/** The variables every service shares. */
export const baseEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: env.logLevel(),
  HOST: env.host(),
  SHUTDOWN_TIMEOUT_MS: env.int(10_000, 100),
  /** The service credential of `/internal/*` routes, the same for every service of a deployment. */
  INTERNAL_TOKEN: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
});
