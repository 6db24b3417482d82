import type { Server as HttpServer } from 'node:http';
import { Server, type ExtendedError, type Socket } from 'socket.io';
import {
  AppError,
  clientEventSchemas,
  errorBody,
  limits,
  ResumeRequest,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '@chat/contracts';
import { hasScope, type Verifier } from '@chat/auth';
import type { Logger } from '@chat/logger';
import type { GatewayMetrics } from '../metrics';
import type { LocalSessions } from '../domain/local-sessions';
import { dispatch, type HandlerTable, type SocketContext } from './handler-table';
import type { SessionRegistry } from './sessions';

export interface SocketData {
  userId: string;
  username: string;
  /** When the handshake's access token expires (ms since the epoch). */
  expiresAtMs: number;
  /** The session the handshake's token was issued for: its revocation disconnects this socket. */
  sessionId?: string;
  /** A bot's API token: its id and scopes ('write' is needed to send events). */
  tokenId?: string;
  scopes?: string[];
  /** Set when the server closes the socket at its token's expiry: the client comes back and resumes. */
  holdOnClose?: boolean;
  /**
   * The client asked for a resumable session (`auth.resumable: true`, or it is resuming one). Only such a
   * session is held after a drop: one that never resumes (a closed browser tab) goes offline at once.
   */
  resumable?: boolean;
}

/** Disconnect reasons that leave the socket's session resumable: drops, and the expiry of its token. */
const HELD_REASONS = new Set(['transport close', 'transport error', 'ping timeout', 'parse error', 'token expired']);

export type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Every socket of a user joins this room: a delivery for the user is one emit to it. */
export const userRoom = (userId: string) => `user:${userId}`;

export interface SocketServerDeps {
  verifier: Verifier;
  sessions: LocalSessions;
  handlers: HandlerTable;
  logger: Logger;
  metrics: GatewayMetrics;
  /** False until the broker connected for the first time: sockets are refused (UNAVAILABLE) until then. */
  started: () => boolean;
  socketSessions: SessionRegistry;
  /** How often a socket opened with an API token re-checks it (a revoked token loses its sockets). */
  tokenRecheckMs?: number;
}

function refusal(err: unknown): ExtendedError {
  const body = err instanceof AppError ? err.toBody() : errorBody('UNAUTHENTICATED', 'invalid or expired access token');
  const e = new Error(body.error.message) as ExtendedError;
  e.data = body;
  return e;
}

/**
 * Socket.IO ignores a middleware's promise: a rejection refuses the handshake (UNAVAILABLE, retryable)
 * instead of leaving it hanging as an unhandled rejection.
 */
function handshake<S>(fn: (socket: S, next: (err?: ExtendedError) => void) => Promise<void>) {
  return (socket: S, next: (err?: ExtendedError) => void): void => {
    fn(socket, next).catch((err: unknown) =>
      next(
        refusal(
          err instanceof AppError ? err : new AppError('UNAVAILABLE', 'the connection could not be set up; retry'),
        ),
      ),
    );
  };
}

const knownEvent = (e: unknown) => (typeof e === 'string' && Object.hasOwn(clientEventSchemas, e) ? e : 'unknown');

/** The Socket.IO server on the gateway's HTTP server: authenticated handshake, then the handler table. */
export function attachSocketServer(http: HttpServer, deps: SocketServerDeps): GatewayServer {
  const io: GatewayServer = new Server(http, { serveClient: false, maxHttpBufferSize: limits.socketFrameMaxBytes });
  const log = deps.logger;

  io.use(
    handshake(async (socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      let claims;
      try {
        // A gateway just started cannot take sends yet: the client retries elsewhere or a moment later.
        // (Once it has been up, a broker outage keeps sockets and answers sends UNAVAILABLE instead.)
        if (!deps.started()) throw new AppError('UNAVAILABLE', 'starting up, try again');
        if (typeof token !== 'string' || token.length === 0)
          throw new AppError('UNAUTHENTICATED', 'missing access token (auth.token)');
        claims = await deps.verifier(token);
        if (!hasScope(claims, 'read'))
          throw new AppError('FORBIDDEN', "this API token lacks the 'read' scope the socket needs");
      } catch (err) {
        const e = refusal(err);
        deps.metrics.handshakesRefused.inc({ code: (e.data as { error: { code: string } }).error.code });
        return next(e);
      }
      const auth = socket.handshake.auth as { resumable?: unknown; resume?: unknown } | undefined;
      const resumable = auth?.resumable === true || (auth?.resume !== undefined && auth.resume !== null);
      socket.data = {
        userId: claims.userId,
        username: claims.username,
        expiresAtMs: claims.expiresAt * 1000,
        sessionId: claims.sessionId,
        tokenId: claims.tokenId,
        scopes: claims.scopes,
        resumable,
      };
      // Announced before the client sees `connect`, so a message sent to it right after is routed here.
      await deps.sessions.acquire(claims.userId);
      let released = false;
      const release = (reason?: string) => {
        if (released) return;
        released = true;
        // A socket that dropped (not closed by either side) leaves its session to be resumed: the session
        // keeps this socket's count, so delivery keeps routing the user here, until resumed or expired.
        if (
          reason !== undefined &&
          socket.data.resumable &&
          HELD_REASONS.has(reason) &&
          deps.socketSessions.detach(socket.id)
        )
          return;
        deps.socketSessions.detach(socket.id, false);
        deps.sessions.release(claims.userId);
        deps.metrics.users.set(deps.sessions.userCount);
      };
      // `disconnect` is not emitted for a socket whose transport closed during the handshake: watch both.
      socket.once('disconnect', (reason) => release(socket.data.holdOnClose ? 'token expired' : reason));
      socket.conn.once('close', () => release());
      deps.metrics.users.set(deps.sessions.userCount);
      next();
    }),
  );

  io.on('connection', (socket) => {
    const { userId, username } = socket.data;
    void socket.join(userRoom(userId));
    deps.metrics.sockets.inc();
    const ctx: SocketContext = {
      userId,
      username,
      socketId: socket.id,
      logger: log.child({ userId, socketId: socket.id }),
    };
    const resume = (socket.handshake.auth as { resume?: unknown } | undefined)?.resume;
    const parsedResume = resume === undefined || resume === null ? null : ResumeRequest.safeParse(resume);
    const session = deps.socketSessions.attach(
      socket as never,
      userId,
      parsedResume === null ? null : parsedResume.success ? parsedResume.data : 'invalid',
    );
    deps.metrics.sessions.inc({ outcome: session.resumed ? 'resumed' : (session.resync ?? 'new') });
    const readOnly = socket.data.scopes ? !socket.data.scopes.includes('write') : false;
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const started = process.hrtime.bigint();
      if (readOnly) {
        const ack = args[args.length - 1];
        if (typeof ack === 'function')
          (ack as (res: unknown) => void)({
            ok: false,
            ...errorBody('FORBIDDEN', "this API token lacks the 'write' scope"),
          });
        return;
      }
      void dispatch(deps.handlers, ctx, event, args, (name, outcome) => {
        const ev = knownEvent(name);
        deps.metrics.events.inc({ event: ev, outcome });
        if (ev === 'message:send')
          deps.metrics.sendAck.observe({ outcome }, Number(process.hrtime.bigint() - started) / 1e9);
      });
    });
    // A socket lives no longer than its access token: at expiry the server disconnects it, and the client
    // reconnects with a fresh token (a revoked session cannot keep listening for ever).
    const expiry = setTimeout(
      () => {
        ctx.logger.debug('access token expired; disconnecting');
        socket.data.holdOnClose = true;
        socket.disconnect(true);
      },
      Math.max(0, Math.min(socket.data.expiresAtMs - Date.now(), 2 ** 31 - 1)),
    );
    expiry.unref();
    // An API token does not expire by the clock alone: it can be revoked. Re-check it now and then.
    const recheck = socket.data.tokenId
      ? setInterval(() => {
          deps.verifier((socket.handshake.auth as { token: string }).token).catch((err: unknown) => {
            if (err instanceof AppError && err.code === 'UNAUTHENTICATED') {
              ctx.logger.info('API token revoked; disconnecting');
              socket.disconnect(true);
            }
          });
        }, deps.tokenRecheckMs ?? 60_000)
      : null;
    recheck?.unref();
    socket.once('disconnect', () => {
      clearTimeout(expiry);
      if (recheck) clearInterval(recheck);
      deps.metrics.sockets.dec();
    });
  });

  return io;
}
