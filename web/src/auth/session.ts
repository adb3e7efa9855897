/**
 * The session: the access and refresh tokens, shared by every tab of the app.
 *
 * Refresh tokens rotate on every use and presenting a rotated one revokes the whole family, so two
 * tabs refreshing at once would log the person out. Only one tab refreshes at a time: the refresh
 * runs under a Web Lock, and a tab that waited for the lock first looks whether the tab before it
 * already stored a new pair. The new pair is also announced on a BroadcastChannel so that every tab
 * picks it up at once (and a logout logs out every tab).
 */

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface Tokens {
  access: string;
  refresh: string;
  /** Milliseconds since the epoch when the access token expires. */
  expiresAt: number;
}

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The part of the Web Locks API used here (navigator.locks). */
export interface LocksLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** Asks the server for a new pair; ``null`` when the refresh token was refused. */
export type Refresh = (refreshToken: string) => Promise<TokenPair | null>;

export const STORAGE_KEY = 'storybang.session';
export const LOCK_NAME = 'storybang.refresh';
// Refresh this long before the access token expires, so requests never race its expiry.
export const EARLY_MS = 30_000;

type Listener = (tokens: Tokens | null) => void;

/** One tab's queue for when the Web Locks API is missing (old browsers): better than nothing. */
export function localLocks(): LocksLike {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request<T>(_name: string, callback: () => Promise<T>): Promise<T> {
      const run = tail.then(callback, callback);
      tail = run.catch(() => undefined);
      return run;
    },
  };
}

export class Session {
  private listeners = new Set<Listener>();
  private inflight: Promise<Tokens | null> | null = null;

  constructor(
    private readonly storage: StorageLike,
    private readonly locks: LocksLike,
    private readonly channel: ChannelLike | null,
    private readonly refreshWith: Refresh,
    private readonly now: () => number = Date.now,
  ) {
    channel?.addEventListener('message', (event) => {
      if ((event.data as { type?: string } | null)?.type === 'session') this.emit(this.tokens());
    });
  }

  tokens(): Tokens | null {
    const raw = this.storage.getItem(STORAGE_KEY);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as Tokens;
    } catch {
      return null;
    }
  }

  /** Store a pair from login or refresh, and tell the other tabs. */
  store(pair: TokenPair): Tokens {
    const tokens = { access: pair.access_token, refresh: pair.refresh_token, expiresAt: this.now() + pair.expires_in * 1000 };
    this.storage.setItem(STORAGE_KEY, JSON.stringify(tokens));
    this.announce(tokens);
    return tokens;
  }

  clear(): void {
    this.storage.removeItem(STORAGE_KEY);
    this.announce(null);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A usable access token, refreshed first when it is about to expire; ``null`` when logged out. */
  async accessToken(): Promise<string | null> {
    const tokens = this.tokens();
    if (!tokens) return null;
    if (tokens.expiresAt - this.now() > EARLY_MS) return tokens.access;
    return (await this.refresh(tokens.access))?.access ?? null;
  }

  /**
   * Replace ``stale`` (the access token a request was refused with, or that is about to expire).
   * Concurrent calls in this tab share one refresh; other tabs wait for the lock and then reuse
   * the pair this tab stored.
   */
  refresh(stale: string): Promise<Tokens | null> {
    this.inflight ??= this.locks
      .request(LOCK_NAME, async () => {
        const current = this.tokens();
        if (!current) return null;
        if (current.access !== stale && current.expiresAt - this.now() > EARLY_MS) return current;
        const pair = await this.refreshWith(current.refresh);
        if (!pair) {
          this.clear();
          return null;
        }
        return this.store(pair);
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  private announce(tokens: Tokens | null): void {
    this.channel?.postMessage({ type: 'session' });
    this.emit(tokens);
  }

  private emit(tokens: Tokens | null): void {
    for (const listener of this.listeners) listener(tokens);
  }
}
