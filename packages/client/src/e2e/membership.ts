import type { ClientState, KeyPackage } from 'ts-mls';
import type { E2eEvent } from '@chat/contracts';
import * as mls from './mls';
import { toBase64 } from './bytes';
import { replenishKeyPackages } from './key-packages';
import type { DeviceContext } from './state';
import { ADDS_PER_COMMIT, COMMIT_RETRIES, codeOf, type DeviceInfo } from './types';

/**
 * How a device's group membership changes: joining from welcomes, re-adding a member's device that
 * asked, and the commits that make the group's devices match the members'. Each runs under the
 * conversation's lock (`E2EDevice`'s `serial`).
 */

/** The caller's catch-up under the same lock (`E2EDevice`'s `syncLocked`: welcomes, then commits). */
type Sync = (conversationId: string) => Promise<void>;

/** Joins from this conversation's welcomes (each conversation's state changes under its own lock only). */
export async function joinFromWelcomes(
  ctx: DeviceContext,
  conversationId: string,
  onJoined: (conversationId: string) => void,
): Promise<void> {
  const welcomes = await ctx.request<Array<{ id: number; conversationId: string; epoch: number; welcome: string }>>(
    'GET',
    `/e2e/devices/${ctx.deviceId}/welcomes?conversationId=${conversationId}`,
  );
  if (welcomes.length === 0) return;
  for (const w of welcomes) {
    try {
      const welcome = mls.welcomeOf(w.welcome);
      let joined: ClientState | null = null;
      let usedRef: string | null = null;
      for (const ref of mls.welcomeRefs(welcome)) {
        const priv = await ctx.storage.store.get(ctx.storage.keyPackageKey(ref));
        if (priv) joined = await mls.joinFromWelcome(welcome, priv);
        if (joined) {
          usedRef = ref;
          break;
        }
      }
      // A one-time package is spent: the server handed it out once and deleted it, so its private
      // half goes too. The last-resort package may be handed out again: its private half stays.
      if (usedRef && usedRef !== (await ctx.storage.store.get(ctx.storage.lastResortKey)))
        await ctx.storage.store.delete(ctx.storage.keyPackageKey(usedRef));
      const current = await ctx.storage.loadState(w.conversationId);
      // A welcome into an older epoch than the state this device has is stale.
      if (joined && (!current || mls.epochOf(joined) > mls.epochOf(current))) {
        // The first state of a group on this device, or a re-add after it was removed or fell too far
        // behind: messages of earlier epochs were not for it (or no longer can be read on it).
        await ctx.storage.saveState(w.conversationId, joined, mls.epochOf(joined));
        onJoined(w.conversationId);
      }
    } catch {
      // A welcome that does not open (not for a key package of this device, corrupt): dropped.
    }
  }
  await ctx.request('POST', `/e2e/devices/${ctx.deviceId}/welcomes/ack`, { ids: welcomes.map((w) => w.id) });
  await replenishKeyPackages(ctx);
}

/**
 * A member's device asks to be re-added (socket `e2e`, type `rejoin`). Done by a device whose group is
 * at the epoch the request was made in (one commit wins; the others find the epoch moved on), with
 * the package checked like any claimed one: its credential names that device and carries the
 * signature key the device registered, so a server cannot slip in a device of its own.
 */
export async function readdDevice(
  ctx: DeviceContext,
  e: Extract<E2eEvent, { type: 'rejoin' }>,
  sync: Sync,
): Promise<boolean> {
  const { conversationId } = e;
  if (e.userId === ctx.userId && e.deviceId === ctx.deviceId) return false;
  await sync(conversationId).catch(() => undefined);
  const state = await ctx.storage.loadState(conversationId);
  if (!state || mls.epochOf(state) !== e.epoch) return false;
  let kp: KeyPackage;
  try {
    kp = mls.decodeKeyPackageMessage(e.keyPackage);
  } catch {
    return false;
  }
  const target = { userId: e.userId, deviceId: e.deviceId };
  const owner = mls.keyPackageDevice(kp);
  if (!owner || mls.deviceKey(owner) !== mls.deviceKey(target)) return false;
  const group = await ctx.request<{ epoch: number; devices: DeviceInfo[] }>('GET', `/e2e/groups/${conversationId}`);
  const registered = group.devices.find((d) => mls.deviceKey(d) === mls.deviceKey(target));
  if (group.epoch !== e.epoch || !registered || registered.publicKey !== toBase64(kp.leafNode.signaturePublicKey))
    return false;
  const stale = mls
    .roster(state)
    .filter((r) => mls.deviceKey(r) === mls.deviceKey(target))
    .map((r) => r.leafIndex);
  const out = await mls.commitChanges(state, [kp], stale);
  try {
    await ctx.request('POST', `/e2e/groups/${conversationId}/commits`, {
      epoch: e.epoch,
      deviceId: ctx.deviceId,
      commit: out.commitB64,
      ...(out.welcomeB64 ? { welcome: { message: out.welcomeB64, devices: [target] } } : {}),
    });
  } catch (err) {
    if (codeOf(err) === 'CONFLICT') return false; // another device re-added it, or the group moved on
    throw err;
  }
  await ctx.storage.saveState(conversationId, out.state);
  return true;
}

/** Commits that make the group's devices match the server's list of the members' devices. */
export async function reconcileGroup(ctx: DeviceContext, conversationId: string, sync: Sync): Promise<void> {
  let conflicts = 0;
  for (let round = 0; round < 100 && conflicts < COMMIT_RETRIES; round++) {
    const state = await ctx.storage.loadState(conversationId);
    if (!state) return;
    const group = await ctx.request<{ epoch: number; devices: DeviceInfo[] }>('GET', `/e2e/groups/${conversationId}`);
    if (group.epoch > mls.epochOf(state)) {
      await sync(conversationId);
      const caught = await ctx.storage.loadState(conversationId);
      if (!caught || mls.epochOf(caught) < group.epoch) return; // cannot catch up (docs/e2e.md, limits)
      continue;
    }
    const want = new Map(group.devices.map((d) => [mls.deviceKey(d), d]));
    const have = mls.roster(state);
    const haveKeys = new Set(have.map((r) => mls.deviceKey(r)));
    const remove = have.filter((r) => {
      const w = want.get(mls.deviceKey(r));
      return !w || w.publicKey !== r.signaturePublicKey;
    });
    const removedKeys = new Set(remove.map((r) => mls.deviceKey(r)));
    if (remove.some((r) => r.leafIndex === state.privatePath.leafIndex)) return; // never remove oneself
    const missing = group.devices.filter((d) => !haveKeys.has(mls.deviceKey(d)) || removedKeys.has(mls.deviceKey(d)));
    const add: Array<{ kp: KeyPackage; device: mls.DeviceRef }> = [];
    if (missing.length > 0) {
      const claimed = await ctx.request<{
        keyPackages: Array<{ userId: string; deviceId: string; keyPackage: string | null }>;
      }>('POST', '/e2e/key-packages/claim', {
        devices: missing.slice(0, ADDS_PER_COMMIT).map((d) => ({ userId: d.userId, deviceId: d.deviceId })),
      });
      for (const c of claimed.keyPackages) {
        if (!c.keyPackage) continue;
        try {
          const kp = mls.decodeKeyPackageMessage(c.keyPackage);
          const owner = mls.keyPackageDevice(kp);
          const registered = want.get(mls.deviceKey(c));
          // The package must be the device's own: same identity, same signature key as registered.
          if (
            owner &&
            mls.deviceKey(owner) === mls.deviceKey(c) &&
            registered &&
            toBase64(kp.leafNode.signaturePublicKey) === registered.publicKey
          ) {
            add.push({ kp, device: { userId: c.userId, deviceId: c.deviceId } });
          }
        } catch {
          // Not a key package: skip the device; it is tried again at the next reconcile.
        }
      }
    }
    if (remove.length === 0 && add.length === 0) return;
    const out = await mls.commitChanges(
      state,
      add.map((a) => a.kp),
      remove.map((r) => r.leafIndex),
    );
    try {
      await ctx.request('POST', `/e2e/groups/${conversationId}/commits`, {
        epoch: mls.epochOf(state),
        deviceId: ctx.deviceId,
        commit: out.commitB64,
        ...(out.welcomeB64 && add.length > 0
          ? { welcome: { message: out.welcomeB64, devices: add.map((a) => a.device) } }
          : {}),
      });
    } catch (err) {
      if (codeOf(err) === 'CONFLICT') {
        conflicts++;
        await sync(conversationId);
        continue;
      }
      throw err;
    }
    await ctx.storage.saveState(conversationId, out.state);
    // More devices than one commit adds: the next round claims the rest.
    if (missing.length <= ADDS_PER_COMMIT) return;
  }
}
