import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '@chat/contracts';

/** The one socket of the app, typed with the contract's event maps. */
export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export const ACK_TIMEOUT_MS = 10_000;

/**
 * Opens the socket on the page's own origin. The token is read at every (re)connect attempt, so a
 * reconnect after a refresh presents the new one.
 */
export function createSocket(token: () => string | null): ChatSocket {
  return io(window.location.origin, {
    path: '/socket.io',
    autoConnect: false,
    transports: ['websocket', 'polling'],
    auth: (cb) => cb({ token: token() ?? '' }),
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
}

/** The handshake refused the token (the error body rides on `data`). */
export function isAuthRefusal(err: Error & { data?: unknown }): boolean {
  const code = (err.data as { error?: { code?: string } } | undefined)?.error?.code;
  return code === 'UNAUTHENTICATED';
}
