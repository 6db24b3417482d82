/**
 * Which gateway instances hold sockets of which users, fed by the gateways' own reports:
 * `presence.reported` (a user's first socket on a gateway, or their last one gone) and
 * `gateway.heartbeat` (the full list, every `intervalMs`, and whenever a worker asks with
 * `sessions.requested`). Every worker keeps the whole registry (its private queue gets every report).
 * A gateway that stops heartbeating (it died) is forgotten after `EXPIRY_HEARTBEATS` intervals; its
 * queue went with its connection anyway, so nothing is lost by routing to it meanwhile.
 */
export const EXPIRY_HEARTBEATS = 2.5;
/** A gateway seen only through presence reports, before its first heartbeat. */
const DEFAULT_INTERVAL_MS = 10_000;

interface GatewaySessions {
  users: Set<string>;
  expiresAt: number;
}

export class SessionRegistry {
  private readonly gateways = new Map<string, GatewaySessions>();
  private readonly byUser = new Map<string, Set<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  heartbeat(gatewayId: string, userIds: string[], intervalMs: number): void {
    const g = this.gateway(gatewayId, intervalMs);
    const next = new Set(userIds);
    for (const u of g.users) if (!next.has(u)) this.unlink(gatewayId, u);
    for (const u of next) this.link(gatewayId, u);
    g.users = next;
  }

  reported(gatewayId: string, userId: string, online: boolean): void {
    const g = this.gateway(gatewayId, DEFAULT_INTERVAL_MS, false);
    if (online) {
      g.users.add(userId);
      this.link(gatewayId, userId);
    } else {
      g.users.delete(userId);
      this.unlink(gatewayId, userId);
    }
  }

  /** Recipients grouped by the gateways holding them; a user with sockets on two gateways is in both. */
  route(userIds: Iterable<string>): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const now = this.now();
    for (const u of userIds) {
      const gws = this.byUser.get(u);
      if (!gws) continue;
      for (const gw of gws) {
        const g = this.gateways.get(gw);
        if (!g || g.expiresAt < now) continue;
        let list = out.get(gw);
        if (!list) out.set(gw, (list = []));
        list.push(u);
      }
    }
    return out;
  }

  /** Forgets gateways whose heartbeats stopped. */
  sweep(): string[] {
    const now = this.now();
    const gone: string[] = [];
    for (const [id, g] of this.gateways) {
      if (g.expiresAt >= now) continue;
      for (const u of g.users) this.unlink(id, u);
      this.gateways.delete(id);
      gone.push(id);
    }
    return gone;
  }

  get gatewayCount(): number {
    return this.gateways.size;
  }

  get userCount(): number {
    return this.byUser.size;
  }

  private gateway(id: string, intervalMs: number, touch = true): GatewaySessions {
    let g = this.gateways.get(id);
    if (!g) this.gateways.set(id, (g = { users: new Set(), expiresAt: 0 }));
    if (touch || g.expiresAt === 0) g.expiresAt = this.now() + intervalMs * EXPIRY_HEARTBEATS;
    return g;
  }

  private link(gatewayId: string, userId: string): void {
    let s = this.byUser.get(userId);
    if (!s) this.byUser.set(userId, (s = new Set()));
    s.add(gatewayId);
  }

  private unlink(gatewayId: string, userId: string): void {
    const s = this.byUser.get(userId);
    if (!s) return;
    s.delete(gatewayId);
    if (s.size === 0) this.byUser.delete(userId);
  }
}
