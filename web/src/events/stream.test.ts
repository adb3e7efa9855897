import { describe, expect, it } from 'vitest';
import { assemble, StoryStream } from './stream';

describe('assemble', () => {
  it('holds back a first line until it is known to be a title', () => {
    expect(assemble('The Brave')).toEqual({ title: null, paragraphs: [], open: true });
  });

  it('shows a first line too long for a title as text while it is still being written', () => {
    const line = 'Luna loved the moon, and every night she climbed the hill behind her house to wave at it; one night the moon waved back at her.';
    expect(assemble(line)).toEqual({ title: null, paragraphs: [line], open: true });
  });

  it('shows a paragraph as soon as it starts', () => {
    const s = assemble('Title: The Brave Fox\n\nOnce upon a time');
    expect(s.title).toBe('The Brave Fox');
    expect(s.paragraphs).toEqual(['Once upon a time']);
    expect(s.open).toBe(true);
  });

  it('splits paragraphs on blank lines and folds whitespace, like the server', () => {
    const s = assemble('**The Fox**\n\nOne  day\nthe fox ran.\n\n  \nThe end.\n\n');
    expect(s).toEqual({ title: 'The Fox', paragraphs: ['One day the fox ran.', 'The end.'], open: false });
  });

  it('takes text under the title line as the first paragraph', () => {
    expect(assemble('# A Night\nIt was dark.\n\nThen light.').paragraphs).toEqual(['It was dark.', 'Then light.']);
  });

  it('treats a first line too long for a title as story text', () => {
    const long = 'word '.repeat(40).trim();
    const s = assemble(`${long}\n\nSecond.`);
    expect(s.title).toBeNull();
    expect(s.paragraphs).toHaveLength(2);
  });
});

describe('StoryStream', () => {
  it('assembles deltas in order and ignores a replayed event', () => {
    const stream = new StoryStream();
    const deltas: [string, string][] = [
      ['1-0', 'Title: Mo'],
      ['1-1', 'on Cat\n\nThe cat'],
      ['1-1', 'on Cat\n\nThe cat'], // the same event again, after a reconnect
      ['1-2', ' slept.\n\nThen it woke'],
    ];
    let last = stream.value;
    const counts: number[] = [];
    for (const [id, delta] of deltas) {
      last = stream.push(id, delta);
      counts.push(last.paragraphs.length);
    }
    expect(last).toEqual({ title: 'Moon Cat', paragraphs: ['The cat slept.', 'Then it woke'], open: true });
    expect(counts).toEqual([0, 1, 1, 2]);
  });
});
