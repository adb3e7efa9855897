import { describe, expect, it } from 'vitest';
import { parse, shouldShow, wording, type PushMessage } from './notification';

const story: PushMessage = {
  event: 'generation.completed',
  id: 'a'.repeat(24),
  task: 'story',
  tag: `generation-${'a'.repeat(24)}`,
  url: `/stories/${'b'.repeat(24)}`,
  title: 'Your story is ready',
  body: 'The Brave Fox',
  story_title: 'The Brave Fox',
};

describe('shouldShow', () => {
  it('shows when no window of the app is open', () => {
    expect(shouldShow([])).toBe(true);
  });
  it('shows when every window is hidden (another tab, minimised, the phone locked)', () => {
    expect(shouldShow([{ visibilityState: 'hidden', focused: false }, { visibilityState: 'hidden', focused: false }])).toBe(true);
  });
  it('skips when a window shows the app: it tells of the job itself', () => {
    expect(shouldShow([{ visibilityState: 'hidden', focused: false }, { visibilityState: 'visible', focused: false }])).toBe(false);
    expect(shouldShow([{ visibilityState: 'hidden', focused: true }])).toBe(false);
  });
});

describe('parse', () => {
  it('takes the server’s message', () => {
    expect(parse(JSON.parse(JSON.stringify(story)))).toEqual(story);
  });
  it('refuses what is not one of ours, and links off the app', () => {
    expect(parse(null)).toBeNull();
    expect(parse({ ...story, event: 'something.else' })).toBeNull();
    expect(parse({ ...story, title: 3 })).toBeNull();
    expect(parse({ ...story, url: 'https://evil.example/' })).toBeNull();
    expect(parse({ ...story, url: '//evil.example/' })).toBeNull();
  });
});

describe('wording', () => {
  it('names the story, in English or Spanish', () => {
    expect(wording(story, 'en-GB')).toEqual({ title: 'Your story is ready', body: 'The Brave Fox' });
    expect(wording(story, 'es-ES')).toEqual({ title: 'Tu historia está lista', body: 'The Brave Fox' });
  });
  it('says which job failed, with the server’s reason', () => {
    const failed: PushMessage = { ...story, event: 'generation.failed', task: 'image', body: 'no backend for image' };
    expect(wording(failed, 'es')).toEqual({ title: 'Ha fallado tu trabajo «imagen»', body: 'no backend for image' });
    expect(wording(failed, 'en')).toEqual({ title: 'Your image job failed', body: 'no backend for image' });
  });
  it('says another job is done', () => {
    const done: PushMessage = { ...story, task: 'translate', story_title: undefined };
    expect(wording(done, 'en').title).toBe('Your translate job is done');
    expect(wording(done, 'es')).toEqual({ title: 'Tu trabajo «traducir» ha terminado', body: 'El trabajo «traducir» ha terminado.' });
  });
});
