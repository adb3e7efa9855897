/**
 * What changed between two texts of a story, word by word (jsdiff's diffWordsWithSpace: spaces and breaks are kept exactly): the parts of the
 * text in reading order, each kept, removed or added. Paragraph breaks count as text, so a paragraph
 * added or taken out shows as such.
 */
import { diffWordsWithSpace } from 'diff';

export interface Part {
  kind: 'same' | 'removed' | 'added';
  text: string;
}

export interface StoryText {
  title: string;
  paragraphs: string[];
}

const BREAK = '\n\n';

export const asText = (s: StoryText) => [s.title, ...s.paragraphs].join(BREAK);

export function storyDiff(before: StoryText, after: StoryText): Part[] {
  return diffWordsWithSpace(asText(before), asText(after)).map((c) => ({ kind: c.added ? 'added' : c.removed ? 'removed' : 'same', text: c.value }));
}

/** How many words were removed and added: a one-line summary of a version. */
export function counts(parts: Part[]): { removed: number; added: number } {
  const words = (t: string) => t.split(/\s+/).filter(Boolean).length;
  return {
    removed: parts.filter((p) => p.kind === 'removed').reduce((n, p) => n + words(p.text), 0),
    added: parts.filter((p) => p.kind === 'added').reduce((n, p) => n + words(p.text), 0),
  };
}
