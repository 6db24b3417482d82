/* eslint-disable @typescript-eslint/no-explicit-any */
/** A tiny typed event emitter (no Node dependency, so the SDK runs in browsers too). */
export class Emitter<E extends Record<string, unknown[]>> {
  private readonly listeners = new Map<keyof E, Set<(...args: any[]) => void>>();

  on<K extends keyof E>(event: K, fn: (...args: E[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  once<K extends keyof E>(event: K, fn: (...args: E[K]) => void): () => void {
    const off = this.on(event, (...args) => {
      off();
      fn(...args);
    });
    return off;
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) {
      try {
        fn(...args);
      } catch (err) {
        if (event !== 'error') this.emit('error' as K, ...([err] as unknown as E[K]));
      }
    }
  }
}
