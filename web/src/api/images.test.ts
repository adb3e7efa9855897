import { describe, expect, it } from 'vitest';
import { expiresAt, isExpired } from './images';

const URL_ = '/api/v1/characters/images/0123456789abcdef01234567?owner=abc&expires=1700000000&signature=xyz';

describe('signed image URLs', () => {
  it('read their expiry', () => {
    expect(expiresAt(URL_)).toBe(1_700_000_000);
    expect(expiresAt('/api/v1/characters/c1/photo')).toBeNull();
    expect(expiresAt('/x?expires=soon')).toBeNull();
  });

  it('count as expired at their end, with room for clock skew', () => {
    expect(isExpired(URL_, 1_600_000_000_000)).toBe(false);
    expect(isExpired(URL_, (1_700_000_000 - 31) * 1000)).toBe(false);
    expect(isExpired(URL_, (1_700_000_000 - 29) * 1000)).toBe(true);
    expect(isExpired(URL_, 1_800_000_000_000)).toBe(true);
  });

  it('never call an unsigned URL expired', () => {
    expect(isExpired('/api/v1/characters/c1/photo', 1_800_000_000_000)).toBe(false);
  });
});
