/**
 * The MLS (RFC 9420) operations this client needs, on top of ts-mls: nothing cryptographic is
 * implemented here, only the choice of ciphersuite and the (de)serialisation of what is stored or sent.
 *
 * Ciphersuite 1, MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519: the suite every MLS implementation
 * must support (RFC 9420 §17.1); it runs on WebCrypto where the platform has it, @noble/curves otherwise.
 */
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  decodeGroupState,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeGroupState,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  processMessage,
  acceptAll,
  type CiphersuiteImpl,
  type ClientState,
  type KeyPackage,
  type PrivateKeyPackage,
  type Proposal,
  type Welcome,
} from 'ts-mls';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { defaultClientConfig } from 'ts-mls/clientConfig.js';
import { unprotectPrivateMessage } from 'ts-mls/messageProtection.js';
import { fromBase64, toBase64, toHex, utf8, fromUtf8 } from './bytes';

export const CIPHERSUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519' as const;

let implPromise: Promise<CiphersuiteImpl> | undefined;
/** The ciphersuite's implementation, built once. */
export function suite(): Promise<CiphersuiteImpl> {
  implPromise ??= getCiphersuiteImpl(getCiphersuiteFromName(CIPHERSUITE));
  return implPromise;
}

/** A member of a group: one device of one user (the MLS basic credential is `userId:deviceId`). */
export interface DeviceRef {
  userId: string;
  deviceId: string;
}
export const deviceKey = (d: DeviceRef) => `${d.userId}:${d.deviceId}`;

/** A device's long-term signature key pair: its identity in every group. */
export interface SignatureKeys {
  signKey: Uint8Array;
  publicKey: Uint8Array;
}

export async function newSignatureKeys(): Promise<SignatureKeys> {
  const cs = await suite();
  return cs.signature.keygen();
}

export interface GeneratedKeyPackage {
  /** Hex of the key package reference (RFC 9420 §5.2): how a Welcome names the package it is for. */
  ref: string;
  /** The MLSMessage-framed public key package, base64: what the server stores and hands out. */
  publicB64: string;
  /** The private half, kept on the device until a Welcome uses it. */
  privateB64: string;
}

const credentialOf = (d: DeviceRef) => ({ credentialType: 'basic' as const, identity: utf8(deviceKey(d)) });

export async function newKeyPackage(me: DeviceRef, sig: SignatureKeys): Promise<GeneratedKeyPackage> {
  const cs = await suite();
  const kp = await generateKeyPackageWithKey(credentialOf(me), defaultCapabilities(), defaultLifetime, [], sig, cs);
  const framed = encodeMlsMessage({ keyPackage: kp.publicPackage, wireformat: 'mls_key_package', version: 'mls10' });
  return {
    ref: toHex(await makeKeyPackageRef(kp.publicPackage, cs.hash)),
    publicB64: toBase64(framed),
    privateB64: encodePrivate(kp.privatePackage, framed),
  };
}

function encodePrivate(p: PrivateKeyPackage, framedPublic: Uint8Array): string {
  return JSON.stringify({
    init: toBase64(p.initPrivateKey),
    hpke: toBase64(p.hpkePrivateKey),
    sig: toBase64(p.signaturePrivateKey),
    pub: toBase64(framedPublic),
  });
}
function decodePrivate(s: string): { priv: PrivateKeyPackage; pub: KeyPackage } {
  const o = JSON.parse(s) as { init: string; hpke: string; sig: string; pub: string };
  const pub = decodeKeyPackageMessage(o.pub);
  return {
    priv: {
      initPrivateKey: fromBase64(o.init),
      hpkePrivateKey: fromBase64(o.hpke),
      signaturePrivateKey: fromBase64(o.sig),
    },
    pub,
  };
}

export function decodeKeyPackageMessage(b64: string): KeyPackage {
  const m = decodeMlsMessage(fromBase64(b64), 0)?.[0];
  if (!m || m.wireformat !== 'mls_key_package') throw new Error('not a key package');
  return m.keyPackage;
}

/** The device a key package belongs to, read from its credential. */
export function keyPackageDevice(kp: KeyPackage): DeviceRef | null {
  return deviceOfCredential(kp.leafNode.credential);
}

function deviceOfCredential(c: { credentialType: string } & Partial<{ identity: Uint8Array }>): DeviceRef | null {
  if (c.credentialType !== 'basic' || !c.identity) return null;
  const [userId, deviceId, ...rest] = fromUtf8(c.identity).split(':');
  return userId && deviceId && rest.length === 0 ? { userId, deviceId } : null;
}

export function encodeState(state: ClientState): Uint8Array {
  return encodeGroupState(state);
}
export function decodeState(bytes: Uint8Array): ClientState {
  const decoded = decodeGroupState(bytes, 0)?.[0];
  if (!decoded) throw new Error('corrupt group state');
  return { ...decoded, clientConfig: defaultClientConfig };
}

export const epochOf = (state: ClientState): number => Number(state.groupContext.epoch);

export interface RosterEntry extends DeviceRef {
  leafIndex: number;
  signaturePublicKey: string;
}

/** The group's members as the ratchet tree has them. */
export function roster(state: ClientState): RosterEntry[] {
  const out: RosterEntry[] = [];
  state.ratchetTree.forEach((node, i) => {
    if (i % 2 !== 0 || node?.nodeType !== 'leaf') return;
    const d = deviceOfCredential(node.leaf.credential);
    if (d) out.push({ ...d, leafIndex: i / 2, signaturePublicKey: toBase64(node.leaf.signaturePublicKey) });
  });
  return out;
}

export async function newGroup(conversationId: string, me: DeviceRef, sig: SignatureKeys): Promise<ClientState> {
  const cs = await suite();
  const kp = await generateKeyPackageWithKey(credentialOf(me), defaultCapabilities(), defaultLifetime, [], sig, cs);
  return createGroup(utf8(conversationId), kp.publicPackage, kp.privatePackage, [], cs);
}

export interface CommitOut {
  state: ClientState;
  commitB64: string;
  welcomeB64: string | null;
}

/** One commit that adds and removes members: the group moves to the next epoch with fresh secrets. */
export async function commitChanges(state: ClientState, add: KeyPackage[], removeLeaves: number[]): Promise<CommitOut> {
  const cs = await suite();
  const proposals: Proposal[] = [
    ...removeLeaves.map((removed): Proposal => ({ proposalType: 'remove', remove: { removed } })),
    ...add.map((keyPackage): Proposal => ({ proposalType: 'add', add: { keyPackage } })),
  ];
  const r = await createCommit({ state, cipherSuite: cs }, { extraProposals: proposals, ratchetTreeExtension: true });
  return {
    state: r.newState,
    commitB64: toBase64(encodeMlsMessage(r.commit)),
    welcomeB64: r.welcome
      ? toBase64(encodeMlsMessage({ welcome: r.welcome, wireformat: 'mls_welcome', version: 'mls10' }))
      : null,
  };
}

/** Applies another member's commit. Throws when it does not apply (wrong epoch, bad signature...). */
export async function applyCommit(state: ClientState, commitB64: string): Promise<ClientState> {
  const cs = await suite();
  const m = decodeMlsMessage(fromBase64(commitB64), 0)?.[0];
  if (!m || (m.wireformat !== 'mls_private_message' && m.wireformat !== 'mls_public_message'))
    throw new Error('not a commit');
  const r = await processMessage(m, state, emptyPskIndex, acceptAll, cs);
  if (r.kind !== 'newState') throw new Error('expected a commit');
  return r.newState;
}

export function welcomeOf(welcomeB64: string): Welcome {
  const m = decodeMlsMessage(fromBase64(welcomeB64), 0)?.[0];
  if (!m || m.wireformat !== 'mls_welcome') throw new Error('not a welcome');
  return m.welcome;
}

/** The key package references a Welcome is addressed to (hex). */
export const welcomeRefs = (w: Welcome): string[] => w.secrets.map((s) => toHex(s.newMember));

export async function joinFromWelcome(welcome: Welcome, privateB64: string): Promise<ClientState> {
  const cs = await suite();
  const { priv, pub } = decodePrivate(privateB64);
  return joinGroup(welcome, pub, priv, emptyPskIndex, cs);
}

export async function encryptMessage(
  state: ClientState,
  plaintext: Uint8Array,
): Promise<{ state: ClientState; ciphertextB64: string }> {
  const cs = await suite();
  const r = await createApplicationMessage(state, plaintext, cs);
  return {
    state: r.newState,
    ciphertextB64: toBase64(
      encodeMlsMessage({ privateMessage: r.privateMessage, wireformat: 'mls_private_message', version: 'mls10' }),
    ),
  };
}

export interface Decrypted {
  state: ClientState;
  plaintext: Uint8Array;
  sender: DeviceRef | null;
}

/** The epoch a ciphertext claims (in the clear in an MLS PrivateMessage), or null when unreadable. */
export function ciphertextEpoch(ciphertextB64: string): number | null {
  try {
    const m = decodeMlsMessage(fromBase64(ciphertextB64), 0)?.[0];
    return m && m.wireformat === 'mls_private_message' ? Number(m.privateMessage.epoch) : null;
  } catch {
    return null;
  }
}

/**
 * Decrypts an application message and names its sender: the device whose leaf signed it (MLS
 * authenticates the sender; ts-mls's processPrivateMessage does the same steps but does not return the
 * sender, so its application-message branch is followed here with the library's own functions).
 */
export async function decryptMessage(state: ClientState, ciphertextB64: string): Promise<Decrypted> {
  const cs = await suite();
  const m = decodeMlsMessage(fromBase64(ciphertextB64), 0)?.[0];
  if (!m || m.wireformat !== 'mls_private_message') throw new Error('not an MLS private message');
  const pm = m.privateMessage;
  const retention = state.clientConfig.keyRetentionConfig;
  if (pm.epoch < state.groupContext.epoch) {
    const past = state.historicalReceiverData.get(pm.epoch);
    if (!past) throw new Error('epoch too old');
    const r = await unprotectPrivateMessage(
      past.senderDataSecret,
      pm,
      past.secretTree,
      past.ratchetTree,
      past.groupContext,
      retention,
      cs,
    );
    if (r.content.content.contentType !== 'application') throw new Error('not an application message');
    const historical = new Map(state.historicalReceiverData);
    historical.set(pm.epoch, { ...past, secretTree: r.tree });
    return {
      state: { ...state, historicalReceiverData: historical },
      plaintext: r.content.content.applicationData,
      sender: senderOf(past.ratchetTree, r.content.content.sender),
    };
  }
  if (pm.epoch > state.groupContext.epoch) throw new Error('epoch not reached');
  const r = await unprotectPrivateMessage(
    state.keySchedule.senderDataSecret,
    pm,
    state.secretTree,
    state.ratchetTree,
    state.groupContext,
    retention,
    cs,
  );
  if (r.content.content.contentType !== 'application') throw new Error('not an application message');
  return {
    state: { ...state, secretTree: r.tree },
    plaintext: r.content.content.applicationData,
    sender: senderOf(state.ratchetTree, r.content.content.sender),
  };
}

function senderOf(
  tree: ClientState['ratchetTree'],
  sender: { senderType: string; leafIndex?: number },
): DeviceRef | null {
  if (sender.senderType !== 'member' || sender.leafIndex === undefined) return null;
  const node = tree[sender.leafIndex * 2];
  return node?.nodeType === 'leaf' ? deviceOfCredential(node.leaf.credential) : null;
}
