/** Unsent text per user and conversation, in localStorage, so a reload does not lose it. */
const key = (userId: string, conversationId: string) => `chat.draft.${userId}.${conversationId}`;

export function loadDraft(userId: string, conversationId: string): string {
  try {
    return localStorage.getItem(key(userId, conversationId)) ?? '';
  } catch {
    return '';
  }
}

export function saveDraft(userId: string, conversationId: string, text: string): void {
  try {
    if (text) localStorage.setItem(key(userId, conversationId), text);
    else localStorage.removeItem(key(userId, conversationId));
  } catch {
    /* storage full or disabled: the draft lives as long as the page */
  }
}

export function clearDraft(userId: string, conversationId: string): void {
  saveDraft(userId, conversationId, '');
}

/** Forgets every draft of a user (explicit log-out). */
export function clearDrafts(userId: string): void {
  try {
    const prefix = `chat.draft.${userId}.`;
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
