/**
 * Assembling a story from the text deltas of ``generation.progress`` events, the way the server
 * parses the finished text (storybang.generation.prompts.parse_story): blocks separated by blank
 * lines, the first line a title. A paragraph is shown as soon as it starts; only the last one may
 * still be growing.
 */

export interface Assembled {
  title: string | null;
  paragraphs: string[];
  /** Whether the last paragraph is still being written. */
  open: boolean;
}

const TITLE_MAX = 120;
const fold = (text: string) => text.split(/\s+/).join(' ');
const TITLE_PREFIX = /^\s*(#+\s*)?(\*\*)?\s*(title|título)\s*:\s*/i;

export function assemble(text: string): Assembled {
  const blocks = text.replace(/^\s+/, '').split(/\n\s*\n/).map((b) => b.trim()).filter(Boolean);
  const open = blocks.length > 0 && !/\n\s*\n\s*$/.test(text);
  if (blocks.length === 0) return { title: null, paragraphs: [], open: false };
  const [first, ...rest] = blocks;
  const lines = first!.split('\n');
  const titleLine = lines[0]!.replace(TITLE_PREFIX, '').replace(/^[\s*"'#]+|[\s*"'#]+$/g, '');
  const firstRest = lines.slice(1).join('\n').trim();
  // Until the title line ends we cannot tell a title from a first paragraph, unless it is already
  // too long for a title (the server's limit): then it is story text, shown as it grows.
  if (blocks.length === 1 && lines.length === 1 && open) {
    return titleLine.length > TITLE_MAX ? { title: null, paragraphs: [fold(first!)], open: true } : { title: null, paragraphs: [], open: true };
  }
  const paragraphs = [...(firstRest ? [firstRest] : []), ...rest].map(fold);
  if (titleLine.length > TITLE_MAX) return { title: null, paragraphs: blocks.map(fold), open };
  return { title: titleLine || null, paragraphs, open };
}

/** The deltas of one generation, kept in arrival order; replays of an event are ignored. */
export class StoryStream {
  private text = '';
  private seen = new Set<string>();

  push(eventId: string, delta: string): Assembled {
    if (!this.seen.has(eventId)) {
      this.seen.add(eventId);
      this.text += delta;
    }
    return assemble(this.text);
  }

  get value(): Assembled {
    return assemble(this.text);
  }
}
