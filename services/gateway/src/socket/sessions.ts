import { randomUUID } from 'node:crypto';
import type { ResumeRequest, SessionEvent } from '@chat/contracts';

/** The little a session needs from a socket: its id, a way to emit, a way to end it. */
export interface SessionSocket {
  id: string;
  emit: (event: string, ...args: unknown[]) => unknown;
  disconnect: (close?: boolean) => unknown;
}

interface Entry {
  seq: number;
  event: string;
  data: unknown;
}

interface Session {
  id: string;
  userId: string;
  seq: number;
  /** The newest `bufferMax` events, oldest first. */
  buffer: Entry[];
  socket: SessionSocket | null;
  /** Set while detached: the session is forgotten when it fires. */
  expiry: NodeJS.Timeout | null;
}

export interface SessionRegistryOptions {
  /** How long a dropped session stays resumable. */
  windowMs: number;
  /** Events kept per session; a client further behind than this is told to resync. */
  bufferMax: number;
  /** Keep receiving a user's deliveries while a session of theirs waits to be resumed (and stop). */
  hold: (userId: string) => void;
  unhold: (userId: string) => void;
}

/**
 * Per-socket-session event sequences and resume. Every event for a user goes through `emitToUser`,
 * which numbers it in each of the user's sessions on this gateway, keeps it in a bounded buffer and
 * emits it with `{ seq }`. A socket that drops leaves its session behind for `windowMs`; a new socket
 * presenting `{ sessionId, seq }` takes it over and gets the events after `seq` replayed first.
 * In memory only: a restarted gateway knows no session and answers `resumed: false` (resync).
 */
export class SessionRegistry {
  private readonly byId = new Map<string, Session>();
  private readonly byUser = new Map<string, Set<Session>>();
  private readonly bySocket = new Map<string, Session>();

  constructor(private readonly opts: SessionRegistryOptions) {}

  /** Binds a connected socket to a session (resumed or new), emits `session` and the replay. */
  attach(socket: SessionSocket, userId: string, resume: ResumeRequest | null | 'invalid'): SessionEvent {
    let refused: SessionEvent['resync'];
    let session: Session | undefined;
    let after = 0;
    if (resume === 'invalid') refused = 'invalid';
    else if (resume) {
      const s = this.byId.get(resume.sessionId);
      if (!s || s.userId !== userId) refused = 'unknown_session';
      else if (resume.seq > s.seq) refused = 'invalid';
      else if (resume.seq < s.seq && (s.buffer[0]?.seq ?? s.seq + 1) > resume.seq + 1) refused = 'too_far_behind';
      else {
        session = s;
        after = resume.seq;
      }
    }
    const resumed = !!session;
    if (session) {
      if (session.expiry) {
        clearTimeout(session.expiry);
        session.expiry = null;
        this.opts.unhold(userId);
      }
      if (session.socket) {
        // The old socket has not noticed its death yet: the new one takes over.
        const old = session.socket;
        this.bySocket.delete(old.id);
        session.socket = null;
        old.disconnect(true);
      }
    } else {
      session = { id: randomUUID(), userId, seq: 0, buffer: [], socket: null, expiry: null };
      this.byId.set(session.id, session);
      let set = this.byUser.get(userId);
      if (!set) this.byUser.set(userId, (set = new Set()));
      set.add(session);
    }
    session.socket = socket;
    this.bySocket.set(socket.id, session);
    const event: SessionEvent = {
      sessionId: session.id,
      resumed,
      seq: session.seq,
      windowMs: this.opts.windowMs,
      ...(refused ? { resync: refused } : {}),
    };
    socket.emit('session', event);
    if (resumed) for (const e of session.buffer) if (e.seq > after) socket.emit(e.event, e.data, { seq: e.seq });
    return event;
  }

  /**
   * The socket went. `keep`: its session waits `windowMs` for a resume, still numbering and buffering
   * events (true is returned: the session is held). Otherwise (a socket closed on purpose) it is forgotten.
   */
  detach(socketId: string, keep = true): boolean {
    const s = this.bySocket.get(socketId);
    if (!s) return false;
    this.bySocket.delete(socketId);
    if (s.socket?.id !== socketId) return false;
    s.socket = null;
    if (!keep || this.opts.windowMs === 0) {
      this.forget(s);
      return false;
    }
    this.opts.hold(s.userId);
    s.expiry = setTimeout(() => this.forget(s), this.opts.windowMs);
    s.expiry.unref();
    return true;
  }

  private forget(s: Session): void {
    this.byId.delete(s.id);
    const set = this.byUser.get(s.userId);
    set?.delete(s);
    if (set && !set.size) this.byUser.delete(s.userId);
    if (s.expiry) {
      clearTimeout(s.expiry);
      s.expiry = null;
      this.opts.unhold(s.userId);
    }
  }

  /** One event for a user: numbered and buffered in each of their sessions, emitted to attached ones. */
  emitToUser(userId: string, event: string, data: unknown, exceptSocketId?: string): number {
    const set = this.byUser.get(userId);
    if (!set) return 0;
    let emitted = 0;
    for (const s of set) {
      // The socket that caused the event has its outcome already (the ack): it is not an event of its session.
      if (exceptSocketId && s.socket?.id === exceptSocketId) continue;
      const seq = ++s.seq;
      s.buffer.push({ seq, event, data });
      if (s.buffer.length > this.opts.bufferMax) s.buffer.shift();
      if (s.socket) {
        s.socket.emit(event, data, { seq });
        emitted++;
      }
    }
    return emitted;
  }

  /** Drops every session (shutdown): nothing is resumable on this instance any more. */
  clear(): void {
    for (const s of [...this.byId.values()]) this.forget(s);
    this.bySocket.clear();
  }

  /** The last seq a session assigned (undefined when unknown here). */
  lastSeq(sessionId: string): number | undefined {
    return this.byId.get(sessionId)?.seq;
  }

  get size(): number {
    return this.byId.size;
  }
}
