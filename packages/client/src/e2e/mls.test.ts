import * as mls from './mls';
import { fromBase64, toBase64, utf8, fromUtf8 } from './bytes';
import { safetyNumber } from './devices';

const dev = (userId: string, deviceId: string) => ({ userId, deviceId });

async function member(d: mls.DeviceRef) {
  const sig = await mls.newSignatureKeys();
  return { d, sig, kp: await mls.newKeyPackage(d, sig) };
}

/** The crypto layer over ts-mls (RFC 9420): membership changes move the group to a new epoch. */
describe('MLS crypto layer', () => {
  const alice = dev('a', 'a1');
  const bob = dev('b', 'b1');
  const carol = dev('c', 'c1');

  it('a welcomed device reads the group; a removed one reads nothing after; a late one nothing before', async () => {
    const a = await member(alice);
    const b = await member(bob);
    const c = await member(carol);
    let ga = await mls.newGroup('conv-1', alice, a.sig);
    expect(mls.epochOf(ga)).toBe(0);

    const add = await mls.commitChanges(ga, [mls.decodeKeyPackageMessage(b.kp.publicB64)], []);
    ga = add.state;
    expect(mls.epochOf(ga)).toBe(1);
    const welcome = mls.welcomeOf(add.welcomeB64!);
    expect(mls.welcomeRefs(welcome)).toEqual([b.kp.ref]);
    let gb = await mls.joinFromWelcome(welcome, b.kp.privateB64);
    expect(mls.roster(gb).map(mls.deviceKey)).toEqual(['a:a1', 'b:b1']);

    const m1 = await mls.encryptMessage(ga, utf8('before carol'));
    ga = m1.state;
    expect(mls.ciphertextEpoch(m1.ciphertextB64)).toBe(1);
    const d1 = await mls.decryptMessage(gb, m1.ciphertextB64);
    gb = d1.state;
    expect(fromUtf8(d1.plaintext)).toBe('before carol');
    // MLS names the device that signed the message.
    expect(d1.sender).toEqual(alice);
    // The ciphertext does not contain the plaintext.
    expect(Buffer.from(fromBase64(m1.ciphertextB64)).includes(Buffer.from('before carol'))).toBe(false);

    // Carol joins (epoch 2): she cannot read what came before.
    const addC = await mls.commitChanges(ga, [mls.decodeKeyPackageMessage(c.kp.publicB64)], []);
    ga = addC.state;
    gb = await mls.applyCommit(gb, addC.commitB64);
    let gc = await mls.joinFromWelcome(mls.welcomeOf(addC.welcomeB64!), c.kp.privateB64);
    expect(mls.epochOf(gc)).toBe(2);
    await expect(mls.decryptMessage(gc, m1.ciphertextB64)).rejects.toThrow();

    // Bob is removed (epoch 3): he cannot read what follows; carol can.
    const bobLeaf = mls.roster(ga).find((r) => r.userId === 'b')!.leafIndex;
    const rm = await mls.commitChanges(ga, [], [bobLeaf]);
    ga = rm.state;
    gc = await mls.applyCommit(gc, rm.commitB64);
    const gbRemoved = await mls.applyCommit(gb, rm.commitB64);
    expect(gbRemoved.groupActiveState.kind).toBe('removedFromGroup');
    const m2 = await mls.encryptMessage(ga, utf8('after bob'));
    const d2 = await mls.decryptMessage(gc, m2.ciphertextB64);
    expect([fromUtf8(d2.plaintext), d2.sender]).toEqual(['after bob', alice]);
    await expect(mls.decryptMessage(gb, m2.ciphertextB64)).rejects.toThrow();
    await expect(mls.decryptMessage(gbRemoved, m2.ciphertextB64)).rejects.toThrow();
  });

  it('a group state survives encoding; a corrupted ciphertext is refused and the state still works', async () => {
    const a = await member(alice);
    const b = await member(bob);
    let ga = await mls.newGroup('conv-2', alice, a.sig);
    const add = await mls.commitChanges(ga, [mls.decodeKeyPackageMessage(b.kp.publicB64)], []);
    ga = mls.decodeState(mls.encodeState(add.state));
    let gb = mls.decodeState(
      mls.encodeState(await mls.joinFromWelcome(mls.welcomeOf(add.welcomeB64!), b.kp.privateB64)),
    );

    const m = await mls.encryptMessage(ga, utf8('hello'));
    const bytes = fromBase64(m.ciphertextB64);
    bytes[bytes.length - 5]! ^= 0xff;
    await expect(mls.decryptMessage(gb, toBase64(bytes))).rejects.toThrow();
    expect(mls.ciphertextEpoch('not base64 at all!')).toBeNull();

    const d = await mls.decryptMessage(gb, m.ciphertextB64);
    gb = d.state;
    expect(fromUtf8(d.plaintext)).toBe('hello');
    // A message key is used once (forward secrecy): the same ciphertext does not open twice.
    await expect(mls.decryptMessage(gb, m.ciphertextB64)).rejects.toThrow();
  });

  it('a key package names its device and cannot be swapped for another', async () => {
    const b = await member(bob);
    const kp = mls.decodeKeyPackageMessage(b.kp.publicB64);
    expect(mls.keyPackageDevice(kp)).toEqual(bob);
    expect(toBase64(kp.leafNode.signaturePublicKey)).toBe(toBase64(b.sig.publicKey));
    expect(() => mls.decodeKeyPackageMessage(toBase64(utf8('garbage')))).toThrow();
  });

  it('a safety number is the same on both sides and changes with any device', async () => {
    const list = [
      { userId: 'a', deviceId: 'a1', publicKey: 'AAAA' },
      { userId: 'b', deviceId: 'b1', publicKey: 'BBBB' },
    ];
    const n = await safetyNumber(list);
    expect(n).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(await safetyNumber([...list].reverse())).toBe(n);
    expect(await safetyNumber([...list, { userId: 'b', deviceId: 'evil', publicKey: 'CCCC' }])).not.toBe(n);
  });
});
