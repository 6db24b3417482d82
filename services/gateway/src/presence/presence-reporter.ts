import type { Logger } from '@chat/logger';
import type { Broker } from '@chat/messaging';
import type { LocalSessions } from '../domain/local-sessions';

export interface PresenceReporterOptions {
  broker: Broker;
  sessions: LocalSessions;
  gatewayId: string;
  heartbeatMs: number;
  logger: Logger;
}

/**
 * Reports this gateway's users to accounts, which decides presence (docs/internal-contracts.md):
 * `presence.reported` on a user's first socket here and after their last one went, and a
 * `gateway.heartbeat` listing every held user every `heartbeatMs` and on every broker (re)connect.
 * Delivery workers learn where users are from the same reports; a worker that (re)starts asks with
 * `sessions.requested` and gets a heartbeat at once (`heartbeat()`).
 * A report lost while the broker was down is repaired by the next heartbeat (it is the full list);
 * a gateway that dies stops heartbeating and accounts' sweeper expires its users.
 */
export class PresenceReporter {
  private timer: NodeJS.Timeout | null = null;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly opts: PresenceReporterOptions) {
    opts.sessions.setAnnouncer((userId, online) => this.report(userId, online));
    opts.broker.on('connect', () => this.heartbeat());
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.heartbeat(), this.opts.heartbeatMs);
    this.timer.unref();
  }

  /** Stops the heartbeat and waits for the reports in flight (graceful shutdown: offline reports go out). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.pending]);
  }

  private track(p: Promise<unknown>, what: string, extra: object): void {
    const q = p.catch((err) =>
      this.opts.logger.warn(
        { err: (err as Error).message, ...extra },
        `${what} not published; the next heartbeat repairs it`,
      ),
    );
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  /** Resolves once the broker confirmed the report (delivery routes this user here from then on). */
  report(userId: string, online: boolean): Promise<void> {
    if (!this.opts.broker.isConnected) return Promise.resolve();
    const p = this.opts.broker.publish('presence.reported', { gatewayId: this.opts.gatewayId, userId, online });
    this.track(p, 'presence report', { userId, online });
    return p.then(() => undefined);
  }

  heartbeat(): void {
    if (!this.opts.broker.isConnected) return;
    const userIds = this.opts.sessions.users();
    this.track(
      this.opts.broker.publish('gateway.heartbeat', {
        gatewayId: this.opts.gatewayId,
        userIds,
        intervalMs: this.opts.heartbeatMs,
      }),
      'heartbeat',
      { users: userIds.length },
    );
  }
}
