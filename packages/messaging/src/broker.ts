import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { corkFrameWrites } from './cork';
import { Registry } from 'prom-client';
import { AppError, ENVELOPE_VERSION, type Envelope, type EventPayload, type EventType } from '@chat/contracts';
import type { Logger } from '@chat/logger';
import { EXCHANGES, applyTopology } from './topology';
import { createBrokerMetrics, type BrokerMetrics } from './metrics';
import { startConsumer, type ActiveConsumer, type ConsumerSpec } from './consumer';
import { BrokerTargets, brokerUrls } from './urls';

export interface BrokerOptions {
  /** One broker URL, or a cluster's nodes comma-separated: a lost connection reconnects to the next node. */
  url: string;
  logger: Logger;
  registry?: Registry;
  /** How long a publish may wait for the broker's confirm before it is refused as UNAVAILABLE. */
  confirmTimeoutMs?: number;
  /** Extra set-up run on every (re)connect after the shared topology, e.g. a gateway's own queue. */
  onConnect?: (ch: Channel) => Promise<void>;
  /** Give up at start-up after this many failed attempts (default: keep trying). */
  initialMaxRetries?: number;
}

export interface PublishOptions {
  traceId?: string;
  /** Ephemeral events expire in the broker after this many ms and are not written to disk. */
  expirationMs?: number;
  id?: string;
}

/** Longest a (re)connect's set-up (topology, channels, consumers) may take before it is abandoned. */
const SETUP_TIMEOUT_MS = 15_000;
/** Longest a TCP connect plus AMQP handshake may take (a node that accepts but never answers). */
const CONNECT_TIMEOUT_MS = 10_000;

/** How often idle consumers are checked against their queue's ready messages. */
const STALL_CHECK_MS = 10_000;
/** At most one reconnect per this interval because of nacks. */
const NACK_RECONNECT_EVERY_MS = 5_000;

type Pending = { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/** Confirm channels that closed (see publishRaw). */
const closedChannels = new WeakSet<object>();

/**
 * One AMQP connection with automatic recovery. On every (re)connect the topology is re-applied, the
 * confirm channel re-opened and every registered consumer re-started. While disconnected, publishes
 * are refused at once with UNAVAILABLE (retryable) rather than queued in memory.
 */
export class Broker extends EventEmitter {
  readonly metrics: BrokerMetrics;
  private model: amqp.RecoveringChannelModel | null = null;
  private confirm: ConfirmChannel | null = null;
  private readonly consumers: ConsumerSpec[] = [];
  private readonly activeConsumers = new Set<ActiveConsumer>();
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Set<Pending>();
  private connected = false;
  /** The current connection's set-up finished (amqplib's recovery emitted 'connect'). */
  private setUp = false;
  private closing = false;

  constructor(private readonly opts: BrokerOptions) {
    super();
    this.metrics = createBrokerMetrics(opts.registry ?? new Registry());
  }

  get isConnected(): boolean {
    return this.connected && this.confirm !== null;
  }

  /**
   * Connected AND the connection's set-up finished: topology applied and every registered consumer
   * consuming. What `/readyz` reports. `isConnected` turns true earlier, before the consumers start (their
   * first batch may publish), so a readiness check on it said ready while the consumers were still
   * starting, and a broker lost at that moment was lost mid-set-up.
   */
  get isReady(): boolean {
    return this.isConnected && this.setUp;
  }

  /** Resolves once connected the first time (or once closed, if close() comes first). */
  async connect(): Promise<void> {
    const log = this.opts.logger;
    const targets = new BrokerTargets(brokerUrls(this.opts.url));
    const model = await amqp.connect(targets.target, {
      // Confirms and small deliveries are tiny frames: without TCP_NODELAY, Nagle's algorithm and the
      // peer's delayed ACK hold each round trip up to ~40 ms.
      noDelay: true,
      timeout: CONNECT_TIMEOUT_MS,
      recovery: {
        initialDelay: 200,
        // A refused connect costs nothing; a short cap means a restarted node is used within ~2 s of
        // accepting again (the backoff after a 6 s outage would otherwise wait up to 5 s).
        maxDelay: 2_000,
        waitForConnect: false,
        initialMaxRetries: this.opts.initialMaxRetries ?? Infinity,
        setup: async (m: ChannelModel) => this.setup(m),
      },
    });
    this.model = model;
    quietOnClose(model);
    model.on('connect', () => {
      this.connected = true;
      this.setUp = true;
      log.info({ node: targets.address }, 'broker connected');
      this.emit('connect');
    });
    model.on('disconnect', (err: Error) => {
      this.markDown();
      log.warn({ err: err.message, node: targets.address }, 'broker disconnected');
      // A cluster: the node may be gone; the next attempt goes to another one.
      targets.rotate();
      this.emit('disconnect');
    });
    model.on('connect-failed', (err: Error) => {
      log.warn({ err: err.message, node: targets.address }, 'broker connect failed');
      targets.rotate();
    });
    model.on('error', (err: Error) => log.warn({ err: err.message }, 'broker connection error'));
    model.on('handler-error', (err: Error) => log.error({ err }, 'broker event handler failed'));
    try {
      await model.waitForConnect();
    } catch (err) {
      // Closed before its first connection (a service stopped while its broker was unreachable): that is
      // the shutdown, not a broker that gave up (it was logged at error level on every such SIGTERM).
      if (this.closing) return;
      throw err;
    }
    this.stallTimer = setInterval(() => void this.checkStalled(), STALL_CHECK_MS);
    this.stallTimer.unref();
  }

  /**
   * A consumer idle for a whole check interval while its queue holds ready messages is stalled. Seen on
   * a cluster (RabbitMQ 3.10): after the node leading a quorum queue dies, a consumer whose connection
   * was on another node may receive nothing more. Reconnecting (fresh channels, consumers registered
   * with the new leader) gets the messages flowing; they were never lost, only not delivered.
   */
  private async checkStalled(): Promise<void> {
    const m = this.current;
    if (!this.isConnected || !m || this.closing) return;
    const stalled = [...this.activeConsumers].filter((c) => {
      const idle = c.idleSince();
      return idle !== null && Date.now() - idle >= STALL_CHECK_MS;
    });
    if (stalled.length === 0) return;
    // Its own channel: a failed check must not close a channel the service uses.
    const ch = await m.createChannel().catch(() => null);
    if (!ch) return;
    ch.on('error', () => undefined);
    try {
      const ready = async (queue: string) =>
        ch.checkQueue(queue).then(
          (q) => q.messageCount,
          () => 0,
        );
      for (const c of stalled) {
        if ((await ready(c.queue)) === 0) continue;
        // A message just published may be on its way to the consumer: look again a moment later.
        await new Promise((r) => setTimeout(r, 1_000));
        const n = await ready(c.queue);
        if (n > 0 && c.idleSince() !== null && this.current === m && !this.closing) {
          this.opts.logger.warn({ queue: c.queue, ready: n }, 'consumer stalled with messages ready; reconnecting');
          m.close().catch(() => undefined);
          return;
        }
      }
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  private async setup(m: ChannelModel): Promise<void> {
    const step = { name: 'topology' };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.opts.logger.warn(
          { step: step.name, timeoutMs: SETUP_TIMEOUT_MS },
          'broker set-up did not finish; trying again',
        );
        m.close().catch(() => undefined);
        reject(new Error(`broker set-up timed out at ${step.name}`));
      }, SETUP_TIMEOUT_MS);
    });
    // amqplib's recovery watches a connection's 'close' only once this set-up has succeeded. A broker that
    // shuts down while the set-up's last replies are in flight sends them and its Connection.Close
    // together: the connection closes (unwatched), then the set-up completes, and recovery took the dead
    // connection as connected: no 'disconnect', no reconnect, /readyz 200 for good while every publish
    // failed (broker-outage.int.test.ts, once in 15 runs: "timed out waiting for /readyz 503"). A set-up
    // whose connection closed fails instead, and recovery tries again. (Checked after the last await:
    // only microtasks run between here and recovery watching the connection.)
    let closed = false;
    m.once('close', () => (closed = true));
    try {
      await Promise.race([this.setupSteps(m, step), timeout]);
      if (closed) throw new Error('broker connection closed during set-up');
    } catch (err) {
      // setupSteps marks the broker connected before it starts the consumers; a set-up that fails after
      // that (the broker going down mid-way) is a 'connect-failed', not a 'disconnect', so nothing else
      // would take the mark back, and /readyz would go on saying ready through the whole outage.
      if (this.current === m) this.markDown();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async setupSteps(m: ChannelModel, step: { name: string }): Promise<void> {
    // amqplib's recovery listens to a connection's 'error' only once this set-up has succeeded. Until
    // then an 'error' (the broker dropping the socket without a goodbye: a reset, a node going down, a
    // missed heartbeat) had no listener, so the EventEmitter threw it out of the socket's callback: an
    // uncaught exception, and the service exited (exitOnCrash). Seen in test/foundation/broker-outage:
    // the broker stopped while the delivery worker was still setting up; `write ECONNRESET`, exit 1.
    // With a listener the connection closes as it should, the set-up fails, and recovery tries again
    // (the 'connect-failed' warning says why). Stays for the connection's life: harmless after.
    m.on('error', (err: Error) => this.opts.logger.debug({ err: err.message }, 'broker connection error'));
    if (!corkFrameWrites(m)) this.opts.logger.debug('amqplib frame writes not corked (unexpected connection shape)');
    const admin = await m.createChannel();
    // A channel's 'error' without a listener throws too (and takes the connection down with it).
    admin.on('error', () => undefined);
    await applyTopology(admin);
    step.name = 'onConnect';
    if (this.opts.onConnect) await this.opts.onConnect(admin);
    step.name = 'confirm channel';
    const confirm = await m.createConfirmChannel();
    confirm.on('error', () => undefined);
    // Before amqplib's own 'close' listener, which fails the outstanding confirms: a confirm lost with
    // its channel is not a nack (a nack renews the connection and holds off the next renewal for 5 s).
    confirm.prependListener('close', () => closedChannels.add(confirm));
    // A channel closed by the server (a protocol error) leaves the connection up; close the connection
    // too so recovery rebuilds everything from one known state.
    const closeAll = (why: string) => () => {
      if (!this.closing) {
        this.opts.logger.warn({ why }, 'channel closed; reconnecting');
        m.close().catch(() => undefined);
      }
    };
    confirm.on('close', closeAll('confirm channel closed'));
    this.confirm = confirm;
    this.adminChannel = admin;
    this.current = m;
    // Connected before the consumers start: a handler that publishes (delivery) must not see its
    // first batch after a reconnect fail as "not connected" and wait for a retry.
    this.connected = true;
    // A snapshot: a consume() from now on sees the broker connected and starts its consumer itself; the
    // loop must not start that spec a second time (two consumers on one queue in one process).
    for (const spec of [...this.consumers]) {
      step.name = `consumer ${spec.queue}`;
      this.activeConsumers.add(
        await startConsumer(m, spec, this.ctx(), closeAll(`consumer channel ${spec.queue} closed`)),
      );
    }
  }

  private adminChannel: Channel | null = null;
  private current: ChannelModel | null = null;

  private ctx() {
    return { logger: this.opts.logger, metrics: this.metrics, broker: this };
  }

  /** A channel for bindings and other light administration on the current connection. */
  channel(): Channel | null {
    return this.isConnected ? this.adminChannel : null;
  }

  /** Registers a consumer now and on every reconnect. */
  async consume<M>(spec: ConsumerSpec<M>): Promise<void> {
    this.consumers.push(spec as unknown as ConsumerSpec);
    const m = this.current;
    if (this.isConnected && m) {
      this.activeConsumers.add(
        await startConsumer(
          m,
          spec as unknown as ConsumerSpec,
          this.ctx(),
          () => void m.close().catch(() => undefined),
        ),
      );
    }
  }

  envelope<T extends EventType>(type: T, payload: EventPayload<T>, opts: PublishOptions = {}): Envelope<T> {
    return {
      v: ENVELOPE_VERSION,
      type,
      id: opts.id ?? randomUUID(),
      occurredAt: new Date().toISOString(),
      traceId: opts.traceId ?? randomUUID(),
      payload,
    };
  }

  /** Publishes a domain event and resolves once the broker confirmed it (routed and, if durable, on disk). */
  publish<T extends EventType>(type: T, payload: EventPayload<T>, opts: PublishOptions = {}): Promise<Envelope<T>> {
    const env = this.envelope(type, payload, opts);
    return this.publishRaw(EXCHANGES.events, type, Buffer.from(JSON.stringify(env)), {
      messageId: env.id,
      type,
      headers: { traceId: env.traceId },
      ...(opts.expirationMs ? { expiration: String(opts.expirationMs), persistent: false } : { persistent: true }),
    }).then(
      () => env,
      (err) => {
        this.metrics.publishFailed.inc({ type });
        throw err;
      },
    );
  }

  /**
   * Publishes several events of one type as ONE broker message (`{v, batch: [...]}`) with one confirm:
   * consumers handle each event as if it came alone. Resolves with the envelopes once confirmed.
   */
  publishBatch<T extends EventType>(
    type: T,
    items: Array<{ payload: EventPayload<T>; opts?: PublishOptions }>,
  ): Promise<Envelope<T>[]> {
    const envs = items.map((i) => this.envelope(type, i.payload, i.opts));
    // A batch of one travels as a plain envelope: any consumer reads it, batch-aware or not.
    const body = Buffer.from(JSON.stringify(envs.length === 1 ? envs[0] : { v: ENVELOPE_VERSION, batch: envs }));
    return this.publishRaw(EXCHANGES.events, type, body, {
      messageId: envs[0]!.id,
      type,
      persistent: true,
      headers: { traceId: envs[0]!.traceId, count: envs.length },
    }).then(
      () => envs,
      (err) => {
        this.metrics.publishFailed.inc({ type });
        throw err;
      },
    );
  }

  /** Publishes bytes to an exchange with a confirm; rejects with UNAVAILABLE when it cannot be confirmed. */
  publishRaw(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<void> {
    const ch = this.confirm;
    if (!ch || !this.connected)
      return Promise.reject(new AppError('UNAVAILABLE', 'message broker unavailable, try again'));
    const started = process.hrtime.bigint();
    return new Promise<void>((resolve, reject) => {
      const entry: Pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.pending.delete(entry);
          reject(new AppError('UNAVAILABLE', 'message broker did not confirm in time, try again'));
        }, this.opts.confirmTimeoutMs ?? 5_000),
      };
      this.pending.add(entry);
      try {
        ch.publish(exchange, routingKey, content, options, (err) => {
          if (!this.pending.delete(entry)) return;
          clearTimeout(entry.timer);
          if (err) {
            // amqplib fails the confirms still awaited when the channel closes the same way as a nack.
            if (closedChannels.has(ch))
              return reject(new AppError('UNAVAILABLE', 'message broker connection lost', { cause: err }));
            this.onNack();
            return reject(new AppError('UNAVAILABLE', 'message broker refused the message, try again', { cause: err }));
          }
          this.metrics.published.inc({ type: String(options.type ?? routingKey) });
          this.metrics.publishSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
          resolve();
        });
      } catch (err) {
        this.pending.delete(entry);
        clearTimeout(entry.timer);
        reject(new AppError('UNAVAILABLE', 'message broker unavailable, try again', { cause: err }));
      }
    });
  }

  private lastNackReconnect = 0;

  /**
   * A nack means the broker could not enqueue the message. Seen on a cluster (RabbitMQ 3.10): after the
   * node leading a quorum queue dies, a channel that stayed up on another node may go on being nacked
   * for that queue while fresh channels publish fine. So a nack renews the connection (at most every
   * few seconds); the sender gets a retryable refusal and its retry goes out on fresh channels.
   */
  private onNack(): void {
    const m = this.current;
    if (!m || this.closing || Date.now() - this.lastNackReconnect < NACK_RECONNECT_EVERY_MS) return;
    this.lastNackReconnect = Date.now();
    this.opts.logger.warn('publish refused by the broker; reconnecting with fresh channels');
    m.close().catch(() => undefined);
  }

  /** The connection (or a half-finished set-up of one) is gone: refuse publishes until the next set-up. */
  private markDown(): void {
    this.connected = false;
    this.setUp = false;
    this.confirm = null;
    this.adminChannel = null;
    this.current = null;
    this.failPending(new AppError('UNAVAILABLE', 'message broker connection lost'));
    this.activeConsumers.clear();
  }

  private failPending(err: Error): void {
    for (const p of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  /** Stops consuming (in-flight handlers finish and ack), then closes the connection. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.stallTimer);
    await Promise.allSettled([...this.activeConsumers].map((c) => c.stop()));
    this.activeConsumers.clear();
    await this.model?.close().catch(() => undefined);
    this.connected = false;
    this.setUp = false;
    this.confirm = null;
    this.failPending(new AppError('UNAVAILABLE', 'shutting down'));
  }
}

/**
 * amqplib's recovery closes a connection it opened after `close()` was called WITHOUT running our
 * set-up, so with no 'error' listener on it: a reset of that connection while it closes, or a heartbeat
 * timeout if its close never completes, was thrown as an uncaught exception (a service exits on those),
 * in a jest worker after the test that leaked it. Every connection it closes gets a listener first.
 * This reaches into amqplib's recovery (`_closeModelNoThrow`, amqplib 2.x); if the shape differs,
 * nothing is changed.
 */
function quietOnClose(model: object): void {
  const rec = model as unknown as { _closeModelNoThrow?: (m: ChannelModel) => Promise<void> };
  const close = rec._closeModelNoThrow;
  if (typeof close !== 'function') return;
  rec._closeModelNoThrow = function (this: unknown, m: ChannelModel) {
    m.on('error', () => undefined);
    return close.call(this, m);
  };
}
