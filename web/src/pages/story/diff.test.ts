import { describe, expect, it } from 'vitest';
import { asText, counts, storyDiff } from './diff';

describe('storyDiff', () => {
  it('marks the words that changed and keeps the rest', () => {
    const parts = storyDiff({ title: 'The fox', paragraphs: ['The fox ran home.'] }, { title: 'The fox', paragraphs: ['The red fox walked home.'] });
    expect(parts.filter((p) => p.kind === 'removed').map((p) => p.text.trim())).toEqual(['ran']);
    expect(parts.filter((p) => p.kind === 'added').map((p) => p.text.trim())).toEqual(['red', 'walked']);
    expect(counts(parts)).toEqual({ removed: 1, added: 2 });
  });

  it('reads back as either text: the old without the added parts, the new without the removed', () => {
    const before = { title: 'Luna', paragraphs: ['She saw the moon.', 'It was round.'] };
    const after = { title: 'Luna and the moon', paragraphs: ['She saw the moon.', 'A new paragraph, continued.', 'It was round.'] };
    const parts = storyDiff(before, after);
    expect(parts.filter((p) => p.kind !== 'added').map((p) => p.text).join('')).toBe(asText(before));
    expect(parts.filter((p) => p.kind !== 'removed').map((p) => p.text).join('')).toBe(asText(after));
    expect(counts(parts)).toEqual({ removed: 0, added: 7 }); // 'and the moon', 'A new paragraph, continued.'
  });

  it('finds nothing to mark in the same text', () => {
    const same = { title: 'Día', paragraphs: ['¡Qué sol!'] };
    expect(storyDiff(same, same)).toEqual([{ kind: 'same', text: asText(same) }]);
  });
});
