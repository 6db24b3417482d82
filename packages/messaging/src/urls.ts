import type { Options } from 'amqplib';

/**
 * `AMQP_URL` names one broker or, comma-separated, the nodes of a cluster
 * (`amqp://u:p@rabbit-1:5672,amqp://u:p@rabbit-2:5672`). Spaces around the commas are ignored.
 */
export function brokerUrls(list: string): string[] {
  const urls = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new Error('no broker URL given');
  return urls;
}

/** One URL in the form amqplib's connect takes as an object (the string form, parsed the same way). */
function toConnect(url: string): Options.Connect {
  const u = new URL(url);
  const q = u.searchParams;
  const num = (k: string) => (q.has(k) ? Number(q.get(k)) : undefined);
  return {
    protocol: u.protocol.replace(/:$/, ''),
    hostname: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : u.protocol === 'amqps:' ? 5671 : 5672,
    username: u.username || u.password ? decodeURIComponent(u.username) : 'guest',
    password: u.username || u.password ? decodeURIComponent(u.password) : 'guest',
    // Left escaped: amqplib unescapes the vhost itself, as it does for a string URL.
    vhost: u.pathname.length > 1 ? u.pathname.slice(1) : '/',
    heartbeat: num('heartbeat'),
    frameMax: num('frameMax'),
    channelMax: num('channelMax'),
    locale: q.get('locale') ?? undefined,
  };
}

/**
 * The nodes a connection may use, and which one it tries next. amqplib's recovery calls its connect
 * again with the same argument on every attempt; `target` reads the current node at that moment, so
 * rotating after a lost connection or a failed attempt sends the next attempt to another node.
 * The first node tried is picked at random, so several services spread over a cluster's nodes.
 */
export class BrokerTargets {
  private readonly nodes: Options.Connect[];
  private index: number;

  constructor(urls: string[]) {
    this.nodes = urls.map(toConnect);
    this.index = Math.floor(Math.random() * this.nodes.length);
  }

  get current(): Options.Connect {
    return this.nodes[this.index]!;
  }

  /** Where the next connection attempt goes, for logs (`host:port`). */
  get address(): string {
    return `${this.current.hostname}:${this.current.port}`;
  }

  get size(): number {
    return this.nodes.length;
  }

  rotate(): void {
    this.index = (this.index + 1) % this.nodes.length;
  }

  /** The object handed to amqplib: every field read on a connect attempt comes from the current node. */
  get target(): Options.Connect {
    const field = <K extends keyof Options.Connect>(k: K) => ({ enumerable: true, get: () => this.current[k] });
    const target: Options.Connect = {};
    return Object.defineProperties(target, {
      protocol: field('protocol'),
      hostname: field('hostname'),
      port: field('port'),
      username: field('username'),
      password: field('password'),
      vhost: field('vhost'),
      heartbeat: field('heartbeat'),
      frameMax: field('frameMax'),
      channelMax: field('channelMax'),
      locale: field('locale'),
    });
  }
}
