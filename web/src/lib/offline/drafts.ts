/**
 * Unsent text per user and conversation, in localStorage, so a reload does not lose it. The draft of an
 * end-to-end encrypted conversation (`memoryOnly`) stays in memory instead: localStorage is plaintext
 * on disk and synchronous, so it cannot be sealed, and a lost draft costs little (docs/e2e.md).
 */
const key = (userId: string, conversationId: string) => `chat.draft.${userId}.${conversationId}`;
const inMemory = new Map<string, string>();

export function loadDraft(userId: string, conversationId: string): string {
  const held = inMemory.get(key(userId, conversationId));
  if (held !== undefined) return held;
  try {
    return localStorage.getItem(key(userId, conversationId)) ?? '';
  } catch {
    return '';
  }
}

export function saveDraft(userId: string, conversationId: string, text: string, memoryOnly = false): void {
  const k = key(userId, conversationId);
  if (memoryOnly && text) inMemory.set(k, text);
  else inMemory.delete(k);
  try {
    if (text && !memoryOnly) localStorage.setItem(k, text);
    else localStorage.removeItem(k);
  } catch {
    /* storage full or disabled: the draft lives as long as the page */
  }
}

export function clearDraft(userId: string, conversationId: string): void {
  saveDraft(userId, conversationId, '');
}

/** Forgets every draft of a user (explicit log-out). */
export function clearDrafts(userId: string): void {
  const prefix = `chat.draft.${userId}.`;
  for (const k of [...inMemory.keys()]) if (k.startsWith(prefix)) inMemory.delete(k);
  try {
    const keys: string[] = [];
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k?.startsWith(prefix)) keys.push(k);
    }
    for (const k of keys) localStorage.removeItem(k);
  } catch {
    /* storage disabled: nothing kept */
  }
}

/** A conversation turned out to be encrypted: a draft of it written to localStorage moves to memory. */
export function keepDraftInMemory(userId: string, conversationId: string): void {
  const text = loadDraft(userId, conversationId);
  if (text) saveDraft(userId, conversationId, text, true);
}
