import type { Envelope, EventPayload, EventType } from '@chat/contracts';
import type { Broker, PublishOptions } from './broker';

export interface PublishBatcherOptions {
  /** How long an item may wait for others while a publish is already waiting for its confirm. */
  windowMs: number;
  /** A batch is published as soon as it holds this many items. */
  maxItems: number;
  /**
   * With no publish in flight, how long an item may wait for company, and only while items arrive at
   * least twice per `lingerMs` on average (a moving average of the gaps between arrivals): a steady
   * stream shares broker messages, a trickle or the first item after a pause is never delayed. 0: never.
   */
  lingerMs?: number;
}

/** Weight of the newest gap in the moving average of gaps between arrivals. */
const GAP_WEIGHT = 0.1;

type Waiting<T extends EventType> = {
  payload: EventPayload<T>;
  opts?: PublishOptions;
  resolve: (e: Envelope<T>) => void;
  reject: (err: unknown) => void;
};

/**
 * Groups publishes of one event type into one confirmed broker message. Under light load nothing
 * waits: with no publish waiting for its confirm, what arrived in the current tick goes out at once.
 * Under load, items gather while a confirm is outstanding, up to `windowMs` or `maxItems`, and go out
 * together: one broker message, one confirm, one disk write for many events. In between, a steady
 * stream (items arriving at least twice per `lingerMs`) waits up to `lingerMs` for company even with
 * nothing in flight: at a few hundred sends a second each broker message then carries several (every
 * hop behind it, delivery, persistence and the gateway's deliveries, inherits the batch). Each caller's
 * promise resolves (or rejects) with the confirm of the batch that carried its event.
 */
export class PublishBatcher<T extends EventType> {
  private buffer: Waiting<T>[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The pending timer is a linger (a steady stream's), not the in-flight window. */
  private lingering = false;
  private immediate: NodeJS.Immediate | null = null;
  private lastArrival = -Infinity;
  /** Moving average of the milliseconds between arrivals (starts as "a trickle"). */
  private gapMs = Infinity;

  constructor(
    private readonly broker: Broker,
    private readonly type: T,
    private readonly opts: PublishBatcherOptions,
  ) {}

  publish(payload: EventPayload<T>, opts?: PublishOptions): Promise<Envelope<T>> {
    return new Promise((resolve, reject) => {
      this.buffer.push({ payload, opts, resolve, reject });
      const now = performance.now();
      const gap = now - this.lastArrival;
      this.lastArrival = now;
      // A pause raises the average at once, so the first items after it go out without waiting.
      this.gapMs = gap === Infinity || this.gapMs === Infinity ? gap : this.gapMs + GAP_WEIGHT * (gap - this.gapMs);
      if (this.buffer.length >= this.opts.maxItems) return this.flush();
      if (this.timer || this.immediate) return;
      const linger = this.opts.lingerMs ?? 0;
      // A steady stream waits for company whether or not a publish is in flight: the batch's first
      // item waits at most `lingerMs`. Otherwise only a publish in flight makes items gather.
      this.lingering = linger > 0 && this.gapMs * 2 <= linger;
      if (this.lingering) this.timer = setTimeout(() => this.flush(), linger);
      else if (this.inFlight > 0) this.timer = setTimeout(() => this.flush(), this.opts.windowMs);
      else this.immediate = setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.lingering = false;
    if (this.buffer.length === 0) return;
    const batch = this.buffer.splice(0, this.opts.maxItems);
    this.inFlight++;
    this.broker
      .publishBatch(
        this.type,
        batch.map((w) => ({ payload: w.payload, opts: w.opts })),
      )
      .then(
        (envs) => batch.forEach((w, i) => w.resolve(envs[i]!)),
        (err) => batch.forEach((w) => w.reject(err)),
      )
      .finally(() => {
        this.inFlight--;
        // What gathered while this batch waited goes out now rather than at the end of its window
        // (a lingering batch keeps its own deadline).
        if (this.buffer.length && this.inFlight === 0 && !this.lingering) this.flush();
      });
    if (this.buffer.length) this.timer ??= setTimeout(() => this.flush(), this.opts.windowMs);
  }
}
