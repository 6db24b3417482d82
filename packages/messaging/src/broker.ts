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
import {
  catchSetupErrors,
  confirmsLostOnClose,
  noteConfirmsLostOnClose,
  quietOnClose,
  watchCloseDuringSetup,
} from './amqplib-recovery';
import { StaleConnectionWatch } from './stale-connection';

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
  /** The publishing gateway, which delivers the event to its own sockets (see `Envelope.origin`). */
  origin?: string;
}

/** Longest a (re)connect's set-up (topology, channels, consumers) may take before it is abandoned. */
const SETUP_TIMEOUT_MS = 15_000;
/** Longest a TCP connect plus AMQP handshake may take (a node that accepts but never answers). */
const CONNECT_TIMEOUT_MS = 10_000;

type Pending = { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

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
  /** Renews a connection left nacked or starved on a cluster (stale-connection.ts). */
  private readonly stale: StaleConnectionWatch;
  private readonly pending = new Set<Pending>();
  private connected = false;
  /** The current connection's set-up finished (amqplib's recovery emitted 'connect'). */
  private setUp = false;
  private closing = false;

  constructor(private readonly opts: BrokerOptions) {
    super();
    this.metrics = createBrokerMetrics(opts.registry ?? new Registry());
    this.stale = new StaleConnectionWatch({
      connection: () => (this.closing ? null : this.current),
      isConnected: () => this.isConnected,
      consumers: () => this.activeConsumers,
      logger: opts.logger,
    });
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
    this.stale.start();
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
    // amqplib's recovery would take a connection that closed during the set-up as connected for good.
    const closed = watchCloseDuringSetup(m);
    try {
      await Promise.race([this.setupSteps(m, step), timeout]);
      if (closed()) throw new Error('broker connection closed during set-up');
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
    // Until the set-up succeeded, amqplib's recovery has no 'error' listener on the connection.
    catchSetupErrors(m, this.opts.logger);
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
    noteConfirmsLostOnClose(confirm);
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
      ...(opts.origin ? { origin: opts.origin } : {}),
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
            if (confirmsLostOnClose(ch))
              return reject(new AppError('UNAVAILABLE', 'message broker connection lost', { cause: err }));
            this.stale.onNack();
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
    this.stale.stop();
    await Promise.allSettled([...this.activeConsumers].map((c) => c.stop()));
    this.activeConsumers.clear();
    await this.model?.close().catch(() => undefined);
    this.connected = false;
    this.setUp = false;
    this.confirm = null;
    this.failPending(new AppError('UNAVAILABLE', 'shutting down'));
  }
}
