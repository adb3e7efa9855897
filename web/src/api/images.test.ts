import { describe, expect, it } from 'vitest';
import type { Job } from './client';
import { drawnImage, expiresAt, isExpired } from './images';

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

describe("an image job's drawn image", () => {
  const job = { id: 'j1', status: 'succeeded', progress: 1, created_at: '', updated_at: '' } as const;
  const image = { ...job, task: 'image', input: { prompt: 'a kite', size: '512x512' }, result: { image_id: 'i1', image_url: URL_ } } as Job;

  it('is at the signed URL of its result', () => {
    expect(drawnImage(image)).toBe(URL_);
  });

  it('is none before the job has drawn it, and for other tasks', () => {
    expect(drawnImage({ ...image, status: 'running', result: null } as Job)).toBeNull();
    expect(drawnImage({ ...job, task: 'describe', input: { image_id: 'i1' }, result: { description: 'A kite.' } } as Job)).toBeNull();
  });
});
