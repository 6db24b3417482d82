import { randomUUID } from 'node:crypto';
import { ChatClient, type BenchUser, type ChatSocket } from '@chat/client';
import { E2EDevice, MemoryStore, type EncryptedPayload } from '@chat/client/e2e';
import type { E2eEvent, Message } from '@chat/contracts';
import { waitFor } from '@chat/testkit';
import { useStack } from './stack';
import { collect, friendsPair, send } from './fixtures';
import { dumpDatabase, tapBroker } from './plaintext-audit';

type Ack = { ok: true; message: Message } | { ok: false; error: { code: string } };

function sendEncrypted(
  socket: ChatSocket,
  conversationId: string,
  encrypted: EncryptedPayload,
  clientMsgId = randomUUID(),
): Promise<Message> {
  return new Promise((resolve, reject) => {
    socket
      .timeout(15_000)
      .emit('message:send', { conversationId, clientMsgId, encrypted }, (err: Error | null, res?: Ack) => {
        if (err || !res) reject(err ?? new Error('no ack'));
        else if (!res.ok) reject(new Error(`send refused: ${res.error.code}`));
        else resolve(res.message);
      });
  });
}

/**
 * End-to-end encrypted rooms through the real stack, with the client package's crypto layer (MLS):
 * two users and three devices talk; a removed member's device cannot read what follows; a member added
 * later cannot read what came before; a corrupted ciphertext is reported and breaks nothing; the
 * plaintext is in no table, no broker message and no service log.
 */
/** Encrypts on a device and sends through a socket, with one clientMsgId for both. */
async function say(device: E2EDevice, socket: ChatSocket, conversationId: string, text: string): Promise<Message> {
  const clientMsgId = randomUUID();
  return sendEncrypted(socket, conversationId, await device.encrypt(conversationId, text, clientMsgId), clientMsgId);
}

describe('end-to-end encrypted conversations', () => {
  const { stack, track } = useStack();
  let tap: Awaited<ReturnType<typeof tapBroker>> | undefined;
  afterAll(() => tap?.stop());

  it('two users, three devices; removal, late join and a corrupted ciphertext', async () => {
    const broker = await tapBroker(stack.testVhost!);
    tap = broker;
    const { api, a, b } = await friendsPair(stack.origin());
    const carol: BenchUser = await api.register(`c${Date.now().toString(36)}`, 2);
    await api.befriend(a, carol);
    const roomId = await api.room(a, [b.id]);

    const open = (u: BenchUser) =>
      E2EDevice.open({ request: api.requester(u.token), store: new MemoryStore(), userId: u.id });
    const [a1, a2, b1, c1] = await Promise.all([open(a), open(a), open(b), open(carol)]);
    expect(new Set([a1.deviceId, a2.deviceId]).size).toBe(2);

    const [sa, sb, sc] = await Promise.all([api.connect(a.token), api.connect(b.token), api.connect(carol.token)]);
    track(sa, sb, sc);
    const toB = collect(sb);
    const toA = collect(sa);

    // Alice's first device makes the room encrypted and adds the other devices (a2, b1).
    await a1.enable(roomId);
    expect(await a1.encryptedConversations()).toContain(roomId);
    expect((await a1.groupDevices(roomId)).map((d) => d.deviceId).sort()).toEqual(
      [a1.deviceId, a2.deviceId, b1.deviceId].sort(),
    );

    const secret1 = `first secret ${randomUUID()}`;
    const m1 = await say(a1, sa, roomId, secret1);
    expect(await a1.decrypt(m1)).toEqual({ ok: true, text: secret1 });
    expect(m1.kind).toBe('encrypted');
    expect(JSON.stringify(m1)).not.toContain(secret1);
    const gotB = await waitFor(() => toB.get(m1.id), 10_000, 'bob receives the message');
    expect(await b1.decrypt(gotB)).toEqual({ ok: true, text: secret1 });
    expect(await a2.decrypt(m1)).toEqual({ ok: true, text: secret1 });
    // Decrypting again (history reload) gives the same text.
    expect(await b1.decrypt(gotB)).toEqual({ ok: true, text: secret1 });
    // An encrypted conversation takes no plaintext.
    expect(await send(sb, roomId, 'in the clear')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

    const secret2 = `bob replies ${randomUUID()}`;
    const m2 = await say(b1, sb, roomId, secret2);
    expect(await b1.decrypt(m2)).toEqual({ ok: true, text: secret2 });
    const gotA = await waitFor(() => toA.get(m2.id), 10_000, 'alice receives the reply');
    expect(await a1.decrypt(gotA)).toEqual({ ok: true, text: secret2 });
    expect(await a2.decrypt(gotA)).toEqual({ ok: true, text: secret2 });

    // Carol is added later: her device is added at alice's next message; what came before stays closed.
    await api.call('POST', `/conversations/${roomId}/members`, { userId: carol.id }, a.token);
    const secret3 = `after carol joined ${randomUUID()}`;
    const m3 = await say(a2, sa, roomId, secret3);
    expect(await c1.decrypt(m1)).toEqual({ ok: false, reason: 'before-join' });
    expect(await c1.decrypt(m2)).toEqual({ ok: false, reason: 'before-join' });
    expect(await c1.decrypt(m3)).toEqual({ ok: true, text: secret3 });
    expect(await b1.decrypt(m3)).toEqual({ ok: true, text: secret3 });

    // Bob is removed: the next message (a new epoch without bob's device) is closed to him.
    await api.call('DELETE', `/conversations/${roomId}/members/${b.id}`, undefined, a.token);
    const secret4 = `after bob left ${randomUUID()}`;
    const m4 = await say(c1, sc, roomId, secret4);
    expect((await a1.groupDevices(roomId)).length).toBe(3);
    expect(await a1.decrypt(m4)).toEqual({ ok: true, text: secret4 });
    expect(await b1.decrypt(m4)).toMatchObject({ ok: false });
    expect((await c1.groupDevices(roomId)).map((d) => d.userId)).not.toContain(b.id);

    // A corrupted ciphertext is reported as such; the messages around it still open.
    const good = await a1.encrypt(roomId, 'not this one', randomUUID());
    const bytes = Buffer.from(good.ciphertext, 'base64');
    bytes[bytes.length - 3]! ^= 0x55;
    const bad = await sendEncrypted(sa, roomId, { ...good, ciphertext: bytes.toString('base64') });
    const secret5 = `after the corruption ${randomUUID()}`;
    const m5 = await say(a1, sa, roomId, secret5);
    expect(await c1.decrypt(bad)).toEqual({ ok: false, reason: 'corrupt' });
    expect(await a2.decrypt(bad)).toEqual({ ok: false, reason: 'corrupt' });
    expect(await c1.decrypt(m5)).toEqual({ ok: true, text: secret5 });
    expect(await a2.decrypt(m5)).toEqual({ ok: true, text: secret5 });
    expect(
      await c1.decrypt({ ...m5, clientMsgId: randomUUID(), encrypted: { ...m5.encrypted!, ciphertext: 'AAAA' } }),
    ).toEqual({ ok: false, reason: 'corrupt' });
    // A message shown as another member's (a lying server): MLS says who signed it, so it is refused,
    // and the genuine copy still opens.
    const secret6 = `signed by alice ${randomUUID()}`;
    const m6 = await say(a1, sa, roomId, secret6);
    expect(await c1.decrypt({ ...m6, senderId: carol.id, clientMsgId: randomUUID() })).toEqual({
      ok: false,
      reason: 'corrupt',
    });
    expect(
      await c1.decrypt({
        ...m6,
        clientMsgId: randomUUID(),
        encrypted: { ...m6.encrypted!, senderDeviceId: a2.deviceId },
      }),
    ).toEqual({ ok: false, reason: 'corrupt' });
    expect(await c1.decrypt(m6)).toEqual({ ok: true, text: secret6 });

    // History serves the ciphertexts; the plaintexts are nowhere on the server side.
    // Persistence follows the live delivery by a batch: wait for the last of them to be stored.
    const history = await waitFor(
      async () => {
        const h = await api.history(roomId, carol.token);
        return [m1.id, m4.id, m5.id].every((id) => h.some((m) => m.id === id)) ? h : null;
      },
      10_000,
      'the ciphertexts in history',
    );
    expect(history.map((m) => m.id)).toEqual(expect.arrayContaining([m1.id, m4.id, m5.id]));
    await waitFor(
      () => broker.bodies().some((body) => body.includes(m5.id)),
      10_000,
      'the broker to carry the last message',
    );
    const dump = await dumpDatabase(stack.database.url);
    expect(dump).toContain(m5.id);
    const logs = stack.procs.map((p) => p.process.stdout() + p.process.stderr()).join('\n');
    for (const secret of [secret1, secret2, secret3, secret4, secret5, secret6]) {
      expect(dump).not.toContain(secret);
      expect(broker.bodies().some((body) => body.includes(secret))).toBe(false);
      expect(logs).not.toContain(secret);
    }
  });

  it('idle connected devices join and follow commits from the socket `e2e` event alone', async () => {
    const { api, a, b } = await friendsPair(stack.origin());
    const carol: BenchUser = await api.register(`i${Date.now().toString(36)}`, 3);
    await api.befriend(a, carol);
    const roomId = await api.room(a, [b.id, carol.id]);
    const open = (u: BenchUser) =>
      E2EDevice.open({ request: api.requester(u.token), store: new MemoryStore(), userId: u.id });
    const [a1, b1, c1] = await Promise.all([open(a), open(b), open(carol)]);

    // Bob listens on a bare socket, carol through the client package's ChatClient: each passes the
    // event to its device and does nothing else (no send, no reconcile, no reopening).
    const sb = await api.connect(b.token);
    track(sb);
    const toBob: E2eEvent[] = [];
    const bobDone: Array<Promise<boolean>> = [];
    sb.on('e2e', (e) => {
      toBob.push(e);
      bobDone.push(b1.onEvent(e));
    });
    const carolClient = await ChatClient.login({
      origin: stack.origin(),
      username: carol.username,
      password: 'bench-password-1',
    });
    await carolClient.connect();
    const carolDone: Array<Promise<boolean>> = [];
    carolClient.on('e2e', (e) => carolDone.push(c1.onEvent(e)));
    try {
      const ids = (d: Array<{ deviceId: string }>) => d.map((x) => x.deviceId).sort();
      // Alice makes the room encrypted: bob's and carol's devices are welcomed and join by themselves.
      await a1.enable(roomId);
      const all = [a1.deviceId, b1.deviceId, c1.deviceId].sort();
      await waitFor(async () => ids(await b1.groupDevices(roomId)).join() === all.join(), 20_000, 'bob joins');
      await waitFor(async () => ids(await c1.groupDevices(roomId)).join() === all.join(), 20_000, 'carol joins');
      expect(toBob[0]).toMatchObject({
        type: 'commit',
        conversationId: roomId,
        epoch: 1,
        deviceId: a1.deviceId,
        welcomed: expect.arrayContaining([{ userId: b.id, deviceId: b1.deviceId }]),
      });

      // Carol is removed from the room; alice's device commits the removal. Bob's idle device applies
      // it from the event: its group no longer holds carol's device.
      await api.call('DELETE', `/conversations/${roomId}/members/${carol.id}`, undefined, a.token);
      await a1.reconcile(roomId);
      expect(ids(await a1.groupDevices(roomId))).toEqual([a1.deviceId, b1.deviceId].sort());
      await waitFor(
        async () => ids(await b1.groupDevices(roomId)).join() === [a1.deviceId, b1.deviceId].sort().join(),
        20_000,
        "bob's device to apply the removal",
      );
      expect(toBob.at(-1)).toMatchObject({ type: 'commit', epoch: 2, deviceId: a1.deviceId, welcomed: [] });
      // Both events were handled, and they moved bob's idle device on. The welcome's handler syncs to the
      // newest epoch: when it is still syncing as the removal is committed it applies that commit too, and
      // the second event then finds nothing left to do (false) (CI saw [true, false] once).
      const handled = await Promise.all(bobDone);
      expect(handled).toHaveLength(2);
      expect(handled[0]).toBe(true);

      // Bob reads alice's next message at once (same epoch); carol, removed, cannot.
      const secret = `after carol left ${randomUUID()}`;
      const clientMsgId = randomUUID();
      const payload = await a1.encrypt(roomId, secret, clientMsgId);
      const m = { conversationId: roomId, senderId: a.id, clientMsgId, encrypted: payload };
      expect(payload.keyId).toBe('2');
      expect(await b1.decrypt(m)).toEqual({ ok: true, text: secret });
      expect(await c1.decrypt(m)).toMatchObject({ ok: false });
      await Promise.all(carolDone);
    } finally {
      carolClient.close();
    }
  });

  it('deletes a one-time key package once its welcome is processed, and keeps the last-resort one', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin());
    const roomId = await api.room(a, [b.id]);
    const a1 = await E2EDevice.open({ request: api.requester(a.token), store: new MemoryStore(), userId: a.id });
    const b1 = await E2EDevice.open({ request: api.requester(b.token), store: new MemoryStore(), userId: b.id });
    const fresh = await b1.heldKeyPackages();
    expect(fresh.refs).toHaveLength(21); // 20 one-time packages and the last-resort one
    expect(fresh.refs).toContain(fresh.lastResort);

    // Alice's device adds bob's with one of its one-time packages: once joined, its private half is gone.
    await a1.enable(conversationId);
    await b1.reconcile(conversationId);
    expect((await b1.groupDevices(conversationId)).map((d) => d.deviceId)).toContain(b1.deviceId);
    const afterJoin = await b1.heldKeyPackages();
    const spent = fresh.refs.filter((r) => !afterJoin.refs.includes(r));
    expect(spent).toHaveLength(1);
    expect(spent[0]).not.toBe(fresh.lastResort);
    expect(afterJoin.lastResort).toBe(fresh.lastResort);
    expect(afterJoin.refs).toContain(fresh.lastResort);

    // Drained of one-time packages, the device is still reachable: the server hands out its
    // last-resort package, and again, without deleting it.
    const claim = async () =>
      (
        await api.call<{ keyPackages: Array<{ keyPackage: string | null }> }>(
          'POST',
          '/e2e/key-packages/claim',
          { devices: [{ userId: b.id, deviceId: b1.deviceId }] },
          a.token,
        )
      ).keyPackages[0]!.keyPackage;
    const oneTime = new Set<string | null>();
    for (let i = 0; i < 19; i++) oneTime.add(await claim());
    expect(oneTime.size).toBe(19);
    const last1 = await claim();
    const last2 = await claim();
    expect(last1).not.toBeNull();
    expect(last2).toBe(last1);
    expect(oneTime.has(last1)).toBe(false);

    // A welcome made with the last-resort package opens, and its private half stays for the next one.
    await a1.enable(roomId);
    await b1.reconcile(roomId);
    expect((await b1.groupDevices(roomId)).map((d) => d.deviceId)).toContain(b1.deviceId);
    const afterLastResort = await b1.heldKeyPackages();
    expect(afterLastResort.lastResort).toBe(fresh.lastResort);
    expect(afterLastResort.refs).toContain(fresh.lastResort);
    // ...and the device published fresh one-time packages (fewer than half were left).
    expect(
      await api.call<{ available: number; lastResort: boolean }>(
        'GET',
        `/e2e/devices/${b1.deviceId}/key-packages`,
        undefined,
        b.token,
      ),
    ).toEqual({ available: 20, lastResort: true });
    const secret = `with the last resort ${randomUUID()}`;
    const clientMsgId = randomUUID();
    const payload = await a1.encrypt(roomId, secret, clientMsgId);
    expect(await b1.decrypt({ conversationId: roomId, senderId: a.id, clientMsgId, encrypted: payload })).toEqual({
      ok: true,
      text: secret,
    });
  });

  it('orders commits, bounds key material and answers bad input with coded errors', async () => {
    const { api, a, b, conversationId } = await friendsPair(stack.origin());
    const reqA = api.requester(a.token);
    const reqB = api.requester(b.token);
    const a1 = await E2EDevice.open({ request: reqA, store: new MemoryStore(), userId: a.id });
    const b1 = await E2EDevice.open({ request: reqB, store: new MemoryStore(), userId: b.id });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'OK',
        (e: { code?: string }) => e.code,
      );

    expect(await code(reqA('GET', `/e2e/groups/${conversationId}`))).toBe('NOT_FOUND');
    await a1.enable(conversationId);
    expect(await code(reqB('POST', `/e2e/groups/${conversationId}`))).toBe('CONFLICT');
    const group = await reqB<{ epoch: number; devices: Array<{ deviceId: string }> }>(
      'GET',
      `/e2e/groups/${conversationId}`,
    );
    expect(group.epoch).toBe(1);
    expect(group.devices.map((d) => d.deviceId).sort()).toEqual([a1.deviceId, b1.deviceId].sort());

    // A commit from a stale epoch is refused: every device applies the same commits in the same order.
    const stale = { epoch: 0, deviceId: b1.deviceId, commit: 'AAAA' };
    expect(await code(reqB('POST', `/e2e/groups/${conversationId}/commits`, stale))).toBe('CONFLICT');
    expect(
      await code(reqB('POST', `/e2e/groups/${conversationId}/commits`, { ...stale, epoch: 1, commit: 'not base64!' })),
    ).toBe('VALIDATION');
    expect(
      await code(
        reqB('POST', `/e2e/groups/${conversationId}/commits`, { ...stale, epoch: 1, commit: 'A'.repeat(30_004) }),
      ),
    ).toBe('VALIDATION');
    expect(
      await code(
        reqB('POST', `/e2e/groups/${conversationId}/commits`, {
          ...stale,
          epoch: 1,
          welcome: { message: 'AAAA', devices: [{ userId: randomUUID(), deviceId: 'x' }] },
        }),
      ),
    ).toBe('VALIDATION');
    const page = await reqB<{ epoch: number; commits: Array<{ epoch: number }> }>(
      'GET',
      `/e2e/groups/${conversationId}/commits?from=0`,
    );
    expect(page).toMatchObject({ epoch: 1, commits: [{ epoch: 0 }] });

    // Key packages: only for your own devices, bounded per upload and per device.
    expect(await code(reqB('POST', `/e2e/devices/${a1.deviceId}/key-packages`, { keyPackages: ['AAAA'] }))).toBe(
      'NOT_FOUND',
    );
    expect(
      await code(reqB('POST', `/e2e/devices/${b1.deviceId}/key-packages`, { keyPackages: new Array(51).fill('AAAA') })),
    ).toBe('VALIDATION');
    expect(await code(reqB('POST', `/e2e/devices/${b1.deviceId}/key-packages`, { keyPackages: [] }))).toBe(
      'VALIDATION',
    );
    const { available } = await reqB<{ available: number }>('GET', `/e2e/devices/${b1.deviceId}/key-packages`);
    expect(
      await code(reqB('POST', `/e2e/devices/${b1.deviceId}/key-packages`, { keyPackages: new Array(50).fill('AAAA') })),
    ).toBe('OK');
    expect(
      await code(
        reqB('POST', `/e2e/devices/${b1.deviceId}/key-packages`, {
          keyPackages: new Array(100 - available - 49).fill('AAAA'),
        }),
      ),
    ).toBe('CONFLICT');

    // Claims: only of users you share a conversation with; once the one-time packages are gone, the
    // device's last-resort package is handed out and kept.
    const stranger = await api.register(`x${Date.now().toString(36)}`, 9);
    const strangerDevice = await E2EDevice.open({
      request: api.requester(stranger.token),
      store: new MemoryStore(),
      userId: stranger.id,
    });
    expect(
      await code(
        reqA('POST', '/e2e/key-packages/claim', {
          devices: [{ userId: stranger.id, deviceId: strangerDevice.deviceId }],
        }),
      ),
    ).toBe('NOT_FOUND');
    let left = (await reqB<{ available: number }>('GET', `/e2e/devices/${b1.deviceId}/key-packages`)).available;
    while (left > 0) {
      await reqA('POST', '/e2e/key-packages/claim', { devices: [{ userId: b.id, deviceId: b1.deviceId }] });
      left--;
    }
    for (let i = 0; i < 2; i++) {
      const last = await reqA<{ keyPackages: Array<{ keyPackage: string | null }> }>(
        'POST',
        '/e2e/key-packages/claim',
        { devices: [{ userId: b.id, deviceId: b1.deviceId }] },
      );
      expect(last.keyPackages[0]!.keyPackage).not.toBeNull();
    }
    expect(await reqB('GET', `/e2e/devices/${b1.deviceId}/key-packages`)).toEqual({ available: 0, lastResort: true });

    // At most 10 devices per user.
    for (let i = 1; i < 10; i++) await reqA('PUT', `/keys/devices/extra${i}`, { publicKey: 'AAAA', algorithm: 'test' });
    expect(await code(reqA('PUT', '/keys/devices/extra10', { publicKey: 'AAAA' }))).toBe('CONFLICT');
    expect(await code(reqA('PUT', '/keys/devices/extra9', { publicKey: 'BBBB' }))).toBe('OK');

    // Removing a device takes its key material with it; the group drops it at the next commit.
    await reqB('DELETE', `/keys/devices/${b1.deviceId}`);
    expect(await code(reqB('DELETE', `/keys/devices/${b1.deviceId}`))).toBe('NOT_FOUND');
    expect(await code(reqB('GET', `/e2e/devices/${b1.deviceId}/welcomes`))).toBe('NOT_FOUND');
    await a1.reconcile(conversationId);
    expect((await a1.groupDevices(conversationId)).map((d) => d.deviceId)).toEqual([a1.deviceId]);
  });
});
