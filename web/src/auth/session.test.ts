import { describe, expect, it, vi } from 'vitest';
import { localLocks, Session, STORAGE_KEY, type LocksLike, type StorageLike, type TokenPair } from './session';

/** Two tabs share localStorage and a lock manager, as browser tabs of one origin do. */
function sharedStorage(): StorageLike {
  const data = new Map<string, string>();
  return {
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

function pair(n: number, expiresIn = 900): TokenPair {
  return { access_token: `access-${n}`, refresh_token: `refresh-${n}`, expires_in: expiresIn };
}

/** A server that rotates refresh tokens and revokes the family when a used one comes back. */
function rotatingServer() {
  let current = 'refresh-0';
  let n = 0;
  let revoked = false;
  const calls: string[] = [];
  const refresh = vi.fn(async (token: string) => {
    calls.push(token);
    await new Promise((r) => setTimeout(r, 5));
    if (revoked || token !== current) {
      revoked = true;
      return null;
    }
    n += 1;
    current = `refresh-${n}`;
    return pair(n);
  });
  return { refresh, calls, revoked: () => revoked };
}

function tab(storage: StorageLike, locks: LocksLike, refresh: (t: string) => Promise<TokenPair | null>, name = 'storybang.test') {
  return new Session(storage, locks, new BroadcastChannel(name), refresh);
}

describe('Session refresh', () => {
  it('refreshes once when two tabs find the same expired token at once', async () => {
    const storage = sharedStorage();
    const locks = localLocks(); // one lock manager for the origin, as navigator.locks is
    const server = rotatingServer();
    const a = tab(storage, locks, server.refresh);
    const b = tab(storage, locks, server.refresh);
    a.store(pair(0, 0)); // already expired

    const [fromA, fromB] = await Promise.all([a.accessToken(), b.accessToken()]);

    expect(server.refresh).toHaveBeenCalledTimes(1);
    expect(server.revoked()).toBe(false);
    expect(fromA).toBe('access-1');
    expect(fromB).toBe('access-1');
    expect(JSON.parse(storage.getItem(STORAGE_KEY)!).refresh).toBe('refresh-1');
  });

  it('shares one refresh between concurrent requests of one tab', async () => {
    const storage = sharedStorage();
    const server = rotatingServer();
    const a = tab(storage, localLocks(), server.refresh);
    a.store(pair(0, 0));
    const tokens = await Promise.all([a.refresh('access-0'), a.refresh('access-0'), a.refresh('access-0')]);
    expect(server.refresh).toHaveBeenCalledTimes(1);
    expect(tokens.map((t) => t?.access)).toEqual(['access-1', 'access-1', 'access-1']);
  });

  it('reuses the pair another tab stored while this one waited for the lock', async () => {
    const storage = sharedStorage();
    const locks = localLocks();
    const server = rotatingServer();
    const a = tab(storage, locks, server.refresh);
    const b = tab(storage, locks, server.refresh);
    a.store(pair(0));
    // Both were refused with access-0 (say, the server restarted with a new key).
    const first = await a.refresh('access-0');
    const second = await b.refresh('access-0');
    expect(server.refresh).toHaveBeenCalledTimes(1);
    expect(second).toEqual(first);
  });

  it('logs every tab out when the refresh token is refused', async () => {
    const storage = sharedStorage();
    const a = tab(storage, localLocks(), async () => null, 'storybang.logout');
    const b = tab(storage, localLocks(), async () => null, 'storybang.logout');
    const seenByB = new Promise((resolve) => b.subscribe(resolve));
    a.store(pair(0, 0));
    expect(await a.accessToken()).toBeNull();
    expect(a.tokens()).toBeNull();
    expect(await seenByB).toBeNull();
  });

  it('uses a fresh access token without asking the server', async () => {
    const server = rotatingServer();
    const a = tab(sharedStorage(), localLocks(), server.refresh);
    a.store(pair(0));
    expect(await a.accessToken()).toBe('access-0');
    expect(server.refresh).not.toHaveBeenCalled();
  });

  it('runs callbacks under the local lock one at a time', async () => {
    const locks = localLocks();
    const order: string[] = [];
    const slow = locks.request('x', async () => {
      order.push('a start');
      await new Promise((r) => setTimeout(r, 10));
      order.push('a end');
    });
    const fast = locks.request('x', async () => void order.push('b'));
    await Promise.all([slow, fast]);
    expect(order).toEqual(['a start', 'a end', 'b']);
  });
});
