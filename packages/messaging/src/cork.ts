import type { ChannelModel } from 'amqplib';

interface Corkable {
  cork(): void;
  uncork(): void;
}
interface MuxLike {
  out?: Corkable;
  _readIncoming?: () => void;
}

const corked = new WeakSet<object>();

/**
 * amqplib queues every frame (each ack, each publish's method, header and body frames) as its own
 * object on the channel's buffer, and its multiplexer writes them to the socket one `write` at a time:
 * one syscall per frame. Corking the socket while the multiplexer drains the buffers of one tick sends
 * them as ONE `writev`: same bytes, same order, far fewer syscalls under load (the gateway acks every
 * consumed message; persistence and delivery too).
 *
 * This reaches into amqplib's connection (`connection.muxer`, amqplib 0.10 to 2.x); if its shape is not
 * the expected one, nothing is changed and false is returned.
 */
export function corkFrameWrites(model: ChannelModel): boolean {
  const mux = (model as unknown as { connection?: { muxer?: MuxLike } }).connection?.muxer;
  const out = mux?.out;
  const read = mux?._readIncoming;
  if (!mux || !out || typeof read !== 'function' || typeof out.cork !== 'function' || typeof out.uncork !== 'function')
    return false;
  if (corked.has(mux)) return true;
  corked.add(mux);
  mux._readIncoming = function readIncomingCorked(this: MuxLike) {
    out.cork();
    try {
      read.call(mux);
    } finally {
      out.uncork();
    }
  };
  return true;
}
