import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import { ErrorBody, errorBody, limits } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { installErrorHandler } from './errors';
import { edgeServerOptions } from './framework-errors';
import { requireInternalToken, useInternalToken } from './internal-auth';

export type ReadinessCheck = () => boolean | Promise<boolean>;

export interface ServiceOptions {
  name: string;
  version?: string;
  description?: string;
  logger: Logger;
  /** Named dependencies that must be up for /readyz to answer 200. */
  readiness?: Record<string, ReadinessCheck>;
  registry?: Registry;
  /** Process-wide default metrics (off in tests, where many apps share one process). */
  defaultMetrics?: boolean;
  fastify?: Omit<FastifyServerOptions, 'loggerInstance' | 'logger'>;
  /**
   * The deployment's service credential (INTERNAL_TOKEN): when set, `/internal/*` routes require it and
   * this process's internal calls send it.
   */
  internalToken?: string;
  /**
   * Serve /metrics and /docs on this app (default). The public origin (gateway) says false and serves
   * them on its operator listener instead (`createOperatorServer`).
   */
  operatorRoutes?: boolean;
  /** The `servers` entry of the OpenAPI document. */
  publicOrigin?: string;
  /** Errors that mean a dependency is unavailable right now (answered 503 UNAVAILABLE, not 500). */
  isTransient?: (err: unknown) => boolean;
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
> & { registry: Registry };

/**
 * A Fastify app with what every service has: zod validation and serialization, the contract's error
 * bodies, /healthz, /readyz, /metrics, and OpenAPI docs generated from route schemas at /docs.
 */
export async function createService(opts: ServiceOptions): Promise<App> {
  const registry = opts.registry ?? new Registry();
  registry.setDefaultLabels({ service: opts.name });
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: limits.bodyLimitBytes,
    // Per-request lines are off: the onResponse hook below records every request as a metric and logs failures.
    logController: new LogController({ disableRequestLogging: true }),
    ...edgeServerOptions,
    ...(opts.fastify as FastifyServerOptions),
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;
  app.decorate('registry', registry);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app, opts.isTransient);
  if (opts.internalToken) {
    useInternalToken(opts.internalToken);
    requireInternalToken(app, opts.internalToken);
  }
  // Only origin-form targets (`/path?query`): an absolute-form one (`GET http://host/path`) is a
  // proxy request, and nothing here is a forward proxy.
  app.addHook('onRequest', async (req, reply) => {
    if (!req.raw.url?.startsWith('/'))
      return reply.status(400).send(errorBody('VALIDATION', 'the request target must be a path'));
  });

  const httpSeconds = new Histogram({
    name: 'http_request_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    httpSeconds.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unknown', status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    if (reply.statusCode >= 500)
      req.log.warn({ method: req.method, url: req.url, status: reply.statusCode }, 'request failed');
  });

  await app.register(swagger, {
    openapi: {
      info: { title: opts.name, version: opts.version ?? '1.0.0', description: opts.description },
      // Clients reach every /api/v1 route through the public origin, never the service's own port.
      servers: [{ url: opts.publicOrigin ?? 'http://localhost:8080', description: 'the public origin (the gateway)' }],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: "a person's access token (JWT) or a bot's API token (cbt_...)",
          },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  // Every documented route can also answer 503 (a dependency, or the owning service behind the origin, is
  // down): listed, so a generated client knows it.
  // A route behind a bearer token can also answer 401, and 403 to a bot's API token without the scope.
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { response?: Record<string | number, unknown>; security?: unknown[] } | undefined;
    const response = schema?.response;
    if (!response) return;
    const statuses = schema.security?.length ? [401, 403, 503] : [503];
    for (const status of statuses) if (!(status in response)) response[status] = ErrorBody;
  });
  registerProbes(app, opts.readiness);
  if (opts.operatorRoutes !== false) {
    await app.register(swaggerUi, { routePrefix: '/docs' });
    registerMetrics(app, registry);
  }
  return app;
}

const ops = { tags: ['operations'] };
const ReadyBody = z.object({ status: z.string(), checks: z.record(z.string(), z.boolean()) });

/** `/healthz` (the process is alive) and `/readyz` (every named dependency is up, else 503). */
function registerProbes(app: FastifyInstance, readiness: Record<string, ReadinessCheck> = {}): void {
  app.get(
    '/healthz',
    { schema: { ...ops, summary: 'The process is alive', response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        ...ops,
        summary: 'Every dependency (broker, database) is connected',
        response: { 200: ReadyBody, 503: ReadyBody },
      },
    },
    async (_req, reply) => {
      const checks: Record<string, boolean> = {};
      for (const [name, check] of Object.entries(readiness)) {
        try {
          checks[name] = await check();
        } catch {
          checks[name] = false;
        }
      }
      const down = Object.entries(checks)
        .filter(([, ok]) => !ok)
        .map(([n]) => n);
      const body = { status: down.length ? `unavailable: ${down.join(', ')} down` : 'ready', checks };
      return reply.status(down.length ? 503 : 200).send(body);
    },
  );
}

/** `/metrics` in the Prometheus text format. */
function registerMetrics(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', { schema: { ...ops, summary: 'Prometheus metrics', hide: false } }, async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
}

/**
 * An operator listener: /healthz, /readyz and /metrics on a port of their own, for a service whose
 * main port is public (the gateway). Never exposed through the public origin.
 */
export async function createOperatorServer(opts: {
  logger: Logger;
  registry: Registry;
  readiness?: Record<string, ReadinessCheck>;
}): Promise<FastifyInstance> {
  // The assertion is needed by this package's own tsc (pino's Logger vs FastifyBaseLogger), not by the linter's program.
  const app = Fastify({
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: opts.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    ...edgeServerOptions,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  registerProbes(app, opts.readiness);
  registerMetrics(app, opts.registry);
  return app;
}

/** The error body schema, for route `response` maps. */
export const errorResponses = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, ErrorBody]));
