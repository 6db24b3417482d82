/**
 * The compose file's promises, checked by reading it (test/containers runs it for real): health
 * checks, start order on health, a scalable delivery service, base images as parameters, no committed
 * secret, and multi-stage images with a non-root user and no build tooling at run time.
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
  restart?: string;
  profiles?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
}

const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as Compose;
const services = compose.services;
const apps = ['gateway', 'accounts', 'persistence', 'delivery'];
/** `${VAR:-default}` → default; `${VAR}`/`${VAR:?msg}` → undefined; anything else as it is. */
const defaultOf = (v: unknown) => {
  const m = /^\$\{[A-Z_]+(?::-([^}]*)|:\?[^}]*)?\}$/.exec(String(v));
  return m ? m[1] : String(v);
};

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
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
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
  it('has Postgres 16, RabbitMQ 3.13 with the management UI and the four services, base images as parameters', () => {
    expect(services.postgres?.image).toMatch(/^\$\{POSTGRES_IMAGE:-postgres:16/);
    expect(defaultOf(services.postgres?.image)).toMatch(/^postgres:16/);
    expect(services.rabbitmq?.image).toMatch(/^\$\{RABBITMQ_IMAGE:-/);
    expect(defaultOf(services.rabbitmq?.image)).toMatch(/^rabbitmq:3\.13.*management/);
    for (const name of apps) expect(services[name]).toBeDefined();
    for (const name of apps)
      expect(defaultOf((services[name]?.build as Build).args?.NODE_IMAGE)).toBe('node:24-bookworm-slim');
  });

  it('starts every RabbitMQ node with schedulers that do not busy-wait (a broker sharing its machine must not spin)', () => {
    const nodes = Object.entries(services).filter(([name]) => /^rabbitmq(-\d+)?$/.test(name));
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    for (const [name, s] of nodes)
      expect({ name, args: s.environment?.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS }).toEqual({
        name,
        args: '+sbwt none +sbwtdcpu none +sbwtdio none',
      });
  });

  it('gives every long-running service a health check, the services probing /readyz', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.restart === 'no') continue; // one-shot set-up
      expect({ name, healthcheck: Boolean(s.healthcheck?.test) && !s.healthcheck?.disable }).toEqual({
        name,
        healthcheck: true,
      });
    }
    for (const name of apps) expect(JSON.stringify(services[name]?.healthcheck?.test)).toContain('/readyz');
  });

  it('starts each service only once what it depends on is healthy (or, for the broker set-up, done)', () => {
    for (const name of apps) {
      const deps = services[name]?.depends_on;
      expect(deps && !Array.isArray(deps)).toBe(true);
      const entries = Object.entries(deps as Record<string, { condition?: string }>);
      expect(entries.length).toBeGreaterThan(0);
      for (const [dep, spec] of entries) {
        expect(services[dep]).toBeDefined();
        const want = services[dep]?.restart === 'no' ? 'service_completed_successfully' : 'service_healthy';
        expect({ name, dep, condition: spec.condition }).toEqual({ name, dep, condition: want });
      }
      // The broker users exist before any service connects.
      expect(Object.keys(deps as object)).toContain('broker-setup');
    }
    expect(services['broker-setup']?.depends_on).toEqual({ rabbitmq: { condition: 'service_healthy' } });
    for (const name of ['accounts', 'persistence'])
      expect(Object.keys(services[name]?.depends_on as object)).toContain('postgres');
  });

  it('lets delivery scale: no container_name and no host port', () => {
    const delivery = services.delivery as ComposeService;
    expect(delivery.container_name).toBeUndefined();
    expect(delivery.ports).toBeUndefined();
    for (const s of Object.values(services)) expect(s.container_name).toBeUndefined();
  });

  it('publishes the gateway as the public origin on 8080 and serves the web client from it', () => {
    expect(services.gateway?.ports).toEqual(['${GATEWAY_PUBLISH:-8080}:8080']);
    expect(services.gateway?.environment?.WEB_DIR).toBeDefined();
    expect(dockerfileOf('gateway').target).toBe('gateway');
  });

  it('points every service at the broker as its own user and the owners at the database, by service name', () => {
    for (const name of apps) {
      const e = services[name]?.environment ?? {};
      expect(e.AMQP_USER).toBe(name);
      expect(String(e.AMQP_PASSWORD)).toMatch(new RegExp(`^\\$\\{${name.toUpperCase()}_BROKER_PASSWORD:\\?`));
      expect(defaultOf(e.AMQP_HOSTS)).toBe('rabbitmq:5672');
      expect(e.AMQP_URL).toBeUndefined();
    }
    for (const name of ['accounts', 'persistence']) {
      expect(String(services[name]?.environment?.DATABASE_URL)).toMatch(
        /^postgres:\/\/chat:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres:5432\//,
      );
    }
  });

  it('commits no secret: every password and cookie comes from the environment', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [k, v] of Object.entries(s.environment ?? {})) {
        if (/PASS|COOKIE|SECRET/.test(k))
          expect({ name, k, v: String(v).startsWith('${') && defaultOf(v) === undefined }).toEqual({
            name,
            k,
            v: true,
          });
      }
    }
  });

  it('publishes the management UI on loopback only, and AMQP not at all', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const p of (s.ports ?? []).map(String)) {
        if (p.endsWith(':15672')) expect(p.startsWith('127.0.0.1:')).toBe(true);
        expect({ name, amqp: p.endsWith(':5672') }).toEqual({ name, amqp: false });
      }
    }
  });

  it('has a cluster profile of three RabbitMQ nodes', () => {
    const nodes = Object.entries(services).filter(([n]) => n.startsWith('rabbitmq'));
    expect(nodes.map(([n]) => n).sort()).toEqual(['rabbitmq', 'rabbitmq-2', 'rabbitmq-3']);
    for (const [n, s] of nodes) if (n !== 'rabbitmq') expect(s.profiles).toEqual(['cluster']);
  });
});

describe('Dockerfiles under infra/', () => {
  it.each(apps)(
    '%s: multi-stage, npm ci and the build in a builder stage, NODE_IMAGE base, non-root user, no tooling at run time',
    (name) => {
      const { path, text, target } = dockerfileOf(name);
      expect(path.startsWith(join(root, 'infra'))).toBe(true);
      expect(text).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
      const all = stages(text);
      expect(all.length).toBeGreaterThan(1);
      expect(all[0]?.from).toBe('${NODE_IMAGE}');
      const finalStage = target ?? all.at(-1)?.name;
      expect(all.map((s) => s.name)).toContain(finalStage);
      const builder = all.find((s) => s.lines.some((l) => /^RUN\b.*\bnpm ci\b/.test(l)));
      expect(builder?.name).not.toBe(finalStage);
      const user = effectiveUser(all, finalStage as string);
      expect(user).toBeDefined();
      expect(['root', '0', '0:0']).not.toContain(user);
      // The runtime stages start from the base image, not from the builder, and copy only build output.
      const chain: string[] = [];
      for (let s = all.find((x) => x.name === finalStage); s; s = all.find((x) => x.name === s.from))
        chain.push(s.name);
      const runtime = all.filter((s) => chain.includes(s.name));
      expect(all.find((s) => s.name === chain.at(-1))?.from).toBe('${NODE_IMAGE}');
      const lines = runtime.flatMap((s) => s.lines);
      expect(lines.filter((l) => /^COPY\s+(--chown=\S+\s+)?\.\s/.test(l))).toEqual([]);
      expect(lines.join('\n')).not.toMatch(/tsx|npm (ci|install)/);
      expect(lines.some((l) => /^COPY --from=build \/out\//.test(l))).toBe(true);
    },
  );
});
