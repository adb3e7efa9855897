/**
 * Image URLs in API answers are short-lived signed URLs (`...?owner=&expires=&signature=`): an <img>
 * cannot send the access token, so the URL carries its own proof. They expire; the resource they
 * came with, fetched again, has fresh ones.
 */
import type { Job } from './client';

/** When a signed URL stops working, in seconds since the epoch; null for a URL that is not signed. */
export function expiresAt(url: string): number | null {
  const value = new URL(url, 'http://localhost').searchParams.get('expires');
  return value !== null && /^\d+$/.test(value) ? Number(value) : null;
}

// Clocks of a phone and a server disagree by a little: a URL this close to its end counts as over.
const SKEW_SECONDS = 30;

/** Whether a signed URL has expired (and the resource should be fetched again for a new one). */
export function isExpired(url: string, nowMs: number = Date.now()): boolean {
  const expires = expiresAt(url);
  return expires !== null && nowMs / 1000 >= expires - SKEW_SECONDS;
}

/** The signed URL of the image an image job drew, once it has: a prompt's picture belongs to no
 * character or story, so the job is where it is found. Null for any other job. */
export function drawnImage(job: Job): string | null {
  return (job.task === 'image' && job.status === 'succeeded' && job.result?.image_url) || null;
}
