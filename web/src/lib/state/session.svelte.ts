import type { User } from '@chat/contracts';
import { api } from '../api/endpoints';
import { clearTokens, endSession, hasStoredSession, refreshAccessToken, storeTokens } from '../auth/tokens';
import { clearDrafts } from '../offline/drafts';
import { outbox } from '../offline/outbox';
import { directory } from './directory.svelte';

export type SessionStatus = 'unknown' | 'anonymous' | 'authenticated';

class Session {
  user = $state<User | null>(null);
  status = $state<SessionStatus>('unknown');
  private restoring: Promise<SessionStatus> | null = null;

  /** Silent log-in after a reload: the stored refresh token buys a new access token. */
  restore(): Promise<SessionStatus> {
    if (this.status !== 'unknown') return Promise.resolve(this.status);
    this.restoring ??= this.doRestore().finally(() => (this.restoring = null));
    return this.restoring;
  }

  private async doRestore(): Promise<SessionStatus> {
    if (!hasStoredSession()) return (this.status = 'anonymous');
    try {
      const token = await refreshAccessToken();
      if (!token) return (this.status = 'anonymous');
      this.setUser(await api.me());
      return (this.status = 'authenticated');
    } catch {
      // Unreachable or failing server: the stored session may still be good; let the user retry.
      return (this.status = 'anonymous');
    }
  }

  async login(username: string, password: string): Promise<void> {
    const r = await api.login(username.trim().toLowerCase(), password);
    storeTokens(r);
    this.setUser(r.user);
  }

  async register(username: string, password: string, displayName?: string): Promise<void> {
    const r = await api.register(username.trim().toLowerCase(), password, displayName?.trim() || undefined);
    storeTokens(r);
    this.setUser(r.user);
  }

  /** Logging out on purpose also forgets what this browser kept for the user (drafts, unsent messages). */
  async logout(): Promise<void> {
    const ending = endSession();
    if (this.user) {
      clearDrafts(this.user.id);
      await outbox.clear(this.user.id);
    }
    this.user = null;
    this.status = 'anonymous';
    await ending;
  }

  /** The server refused the session (refresh rejected, or another tab logged out). */
  lost(): void {
    clearTokens();
    this.user = null;
    this.status = 'anonymous';
  }

  private setUser(u: User): void {
    this.user = u;
    this.status = 'authenticated';
    directory.remember(u);
  }
}

export const session = new Session();
