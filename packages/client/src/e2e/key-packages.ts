import * as mls from './mls';
import type { DeviceContext } from './state';
import { KEY_PACKAGE_TARGET } from './types';

/**
 * Publishes fresh one-time key packages when fewer than half of the target remain on the server, and
 * a last-resort package when the server has none for this device. The private half of a one-time
 * package is deleted once its welcome has been processed; the last-resort one's is kept.
 */
export async function replenishKeyPackages(ctx: DeviceContext): Promise<number> {
  const { storage } = ctx;
  const have = await ctx.request<{ available: number; lastResort?: boolean }>(
    'GET',
    `/e2e/devices/${ctx.deviceId}/key-packages`,
  );
  const needLastResort = have.lastResort !== true;
  if (have.available >= KEY_PACKAGE_TARGET / 2 && !needLastResort) return have.available;
  const fresh: mls.GeneratedKeyPackage[] = [];
  if (have.available < KEY_PACKAGE_TARGET / 2) {
    for (let i = have.available; i < KEY_PACKAGE_TARGET; i++) fresh.push(await mls.newKeyPackage(ctx.me, ctx.sig));
  }
  const lastResort = needLastResort ? await mls.newKeyPackage(ctx.me, ctx.sig) : null;
  for (const kp of [...fresh, ...(lastResort ? [lastResort] : [])])
    await storage.store.set(storage.keyPackageKey(kp.ref), kp.privateB64);
  // Recorded before the upload: a welcome may name it as soon as the server has it.
  if (lastResort) await storage.store.set(storage.lastResortKey, lastResort.ref);
  const r = await ctx.request<{ available: number }>('POST', `/e2e/devices/${ctx.deviceId}/key-packages`, {
    keyPackages: fresh.map((k) => k.publicB64),
    ...(lastResort ? { lastResort: lastResort.publicB64 } : {}),
  });
  return r.available;
}

/** The refs of the key packages whose private halves this device still holds. */
export async function heldKeyPackages(ctx: DeviceContext): Promise<{ refs: string[]; lastResort: string | null }> {
  const { storage } = ctx;
  const prefix = storage.keyPackageKey('');
  const refs = (await storage.store.keys(prefix)).map((k) => k.slice(prefix.length)).sort();
  return { refs, lastResort: (await storage.store.get(storage.lastResortKey)) ?? null };
}
