/**
 * Docker cannot run here, so the compose file's promises are checked by reading it: health checks,
 * start order on health, a scalable delivery service, and multi-stage images with a non-root user.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(__dirname, '..', '..');

interface Build {
  context?: string;
  dockerfile?: string;
  target?: string;
  args?: Record<string, string>;
}
interface ComposeService {
  image?: string;
  build?: Build | string;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  container_name?: string;
  ports?: unknown[];
  environment?: Record<string, string | number>;
}
interface Compose {
  services: Record<string, ComposeService>;
}

const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const services = compose.services;
const apps = ['gateway', 'accounts', 'persistence', 'delivery'];

function dockerfileOf(name: string): { path: string; text: string; target?: string } {
  const b = services[name]?.build;
  expect(b).toBeDefined();
  const build: Build = typeof b === 'string' ? { context: b } : (b as Build);
  const path = join(root, build.context ?? '.', build.dockerfile ?? 'Dockerfile');
  expect(existsSync(path)).toBe(true);
  return { path, text: readFileSync(path, 'utf8'), target: build.target };
}

/** Splits a Dockerfile into its stages: name and instructions (continuation lines joined). */
function stages(text: string): Array<{ name: string; from: string; lines: string[] }> {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: Array<{ name: string; from: string; lines: string[] }> = [];
  for (const line of lines) {
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (m) out.push({ from: m[1] as string, name: m[2] ?? String(out.length), lines: [] });
    else out.at(-1)?.lines.push(line);
  }
  return out;
}

/** The USER in force in a target stage, following `FROM <earlier stage>` chains. */
function effectiveUser(all: ReturnType<typeof stages>, target: string): string | undefined {
  const stage = all.find((s) => s.name === target);
  if (!stage) return undefined;
  const users = stage.lines.filter((l) => /^USER\s/i.test(l));
  if (users.length) return users.at(-1)?.split(/\s+/)[1];
  return all.some((s) => s.name === stage.from) ? effectiveUser(all, stage.from) : undefined;
}

describe('docker-compose.yml', () => {
  it('has Postgres 16, RabbitMQ 3.13 with the management UI and the four services', () => {
    expect(services.postgres?.image).toMatch(/^postgres:16/);
    expect(services.rabbitmq?.image).toMatch(/^rabbitmq:3\.13.*management/);
    for (const name of apps) expect(services[name]).toBeDefined();
  });

  it('gives every service a health check, the services probing /readyz', () => {
    for (const [name, s] of Object.entries(services)) {
      expect({ name, healthcheck: Boolean(s.healthcheck?.test) && !s.healthcheck?.disable }).toEqual({ name, healthcheck: true });
    }
    for (const name of apps) expect(JSON.stringify(services[name]?.healthcheck?.test)).toContain('/readyz');
  });

  it('starts each service only once what it depends on is healthy', () => {
    for (const name of apps) {
      const deps = services[name]?.depends_on;
      expect(deps && !Array.isArray(deps)).toBe(true);
      const entries = Object.entries(deps as Record<string, { condition?: string }>);
      expect(entries.length).toBeGreaterThan(0);
      for (const [dep, spec] of entries) {
        expect(services[dep]).toBeDefined();
        expect({ name, dep, condition: spec.condition }).toEqual({ name, dep, condition: 'service_healthy' });
      }
      expect(Object.keys(deps as object)).toContain('rabbitmq');
    }
    for (const name of ['accounts', 'persistence']) expect(Object.keys(services[name]?.depends_on as object)).toContain('postgres');
  });

  it('lets delivery scale: no container_name and no host port', () => {
    const delivery = services.delivery as ComposeService;
    expect(delivery.container_name).toBeUndefined();
    expect(delivery.ports).toBeUndefined();
    for (const s of Object.values(services)) expect(s.container_name).toBeUndefined();
  });

  it('publishes the gateway as the public origin on 8080 and serves the web client from it', () => {
    expect(JSON.stringify(services.gateway?.ports)).toContain('8080:8080');
    expect(services.gateway?.environment?.WEB_DIR).toBeDefined();
    expect(dockerfileOf('gateway').target).toBe('gateway');
  });

  it('points every service at the broker and the owners at the database, by service name', () => {
    for (const name of apps) expect(String(services[name]?.environment?.AMQP_URL)).toMatch(/^amqp:\/\/.*@rabbitmq:5672/);
    for (const name of ['accounts', 'persistence']) expect(String(services[name]?.environment?.DATABASE_URL)).toMatch(/^postgres:\/\/.*@postgres:5432\//);
  });
});

describe('Dockerfiles under infra/', () => {
  it.each(apps)('%s: multi-stage, npm ci in a builder stage, node:20-bookworm-slim, non-root user', (name) => {
    const { path, text, target } = dockerfileOf(name);
    expect(path.startsWith(join(root, 'infra'))).toBe(true);
    const all = stages(text);
    expect(all.length).toBeGreaterThan(1);
    expect(all[0]?.from).toBe('node:20-bookworm-slim');
    const finalStage = target ?? all.at(-1)?.name;
    expect(all.map((s) => s.name)).toContain(finalStage);
    const builder = all.find((s) => s.lines.some((l) => /^RUN\b.*\bnpm ci\b/.test(l)));
    expect(builder?.name).not.toBe(finalStage);
    const user = effectiveUser(all, finalStage as string);
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    expect(text).toMatch(/^COPY --from=/m);
  });
});
