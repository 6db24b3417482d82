import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { errorBody, type ErrorCode } from '@chat/contracts';

/**
 * Answers Fastify gives before any route or error handler runs, in the contract's error shape:
 * a URL that does not decode (400), a path parameter over `maxParamLength` (414).
 */
export function frameworkErrors(err: Error & { code?: string }, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
  void reply
    .status(status)
    .send(errorBody('VALIDATION', status === 414 ? 'a path segment is too long' : 'malformed URL'));
}

/**
 * Requests Node's HTTP parser refuses (bad request line or header, headers too large, too slow): no
 * request object exists, so the answer is written to the socket, in the error shape, and it closes.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code]: [number, ErrorCode] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'UNAVAILABLE']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'VALIDATION']
        : [400, 'VALIDATION'];
  const message =
    status === 408 ? 'request timed out' : status === 431 ? 'request headers too large' : 'malformed HTTP request';
  const body = JSON.stringify(errorBody(code, message));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

export const edgeServerOptions: Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> = {
  frameworkErrors,
  clientErrorHandler,
};
