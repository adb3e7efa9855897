/**
 * What the service worker makes of a push: the message the server sends when a job ends, the words
 * it shows in the person's language, and whether to show it at all.
 *
 * The server pushes every job's end to every subscribed browser: it cannot know whether this one has
 * the app in front of the person. The service worker can: a visible window already shows the job's
 * end (live events), so a notification is shown only when none is.
 */
import { es } from '../i18n.es';

export interface PushMessage {
  event: 'generation.completed' | 'generation.failed';
  id: string;
  task: string;
  tag: string;
  url: string;
  title: string;
  body: string;
  story_title?: string;
}

/** The parts of a `WindowClient` the decision reads. */
export interface WindowState {
  visibilityState: DocumentVisibilityState;
  focused: boolean;
}

/** Show a notification only when no window of the app is visible or focused. */
export function shouldShow(windows: readonly WindowState[]): boolean {
  return !windows.some((w) => w.focused || w.visibilityState === 'visible');
}

const str = (v: unknown): v is string => typeof v === 'string';

/** The message in a push's JSON, or null for anything that is not one of ours. */
export function parse(data: unknown): PushMessage | null {
  if (typeof data !== 'object' || data === null) return null;
  const m = data as Record<string, unknown>;
  if (m.event !== 'generation.completed' && m.event !== 'generation.failed') return null;
  if (![m.id, m.task, m.tag, m.url, m.title, m.body].every(str)) return null;
  // Only a path of this app: a push must not open another site.
  if (!(m.url as string).startsWith('/') || (m.url as string).startsWith('//')) return null;
  return m as unknown as PushMessage;
}

function translate(lang: string, text: string, values: Record<string, string> = {}): string {
  let out = lang.toLowerCase().startsWith('es') ? (es[text] ?? text) : text;
  for (const [k, v] of Object.entries(values)) out = out.replaceAll(`{${k}}`, v);
  return out;
}

/** The notification's title and body in `lang` (the browser's: a service worker cannot read the
 * language picked in the app); the server's English words where there is no translation. */
export function wording(message: PushMessage, lang: string): { title: string; body: string } {
  const t = (text: string, values?: Record<string, string>) => translate(lang, text, values);
  const task = t(message.task);
  if (message.event === 'generation.failed') return { title: t('Your {task} job failed', { task }), body: message.body };
  if (message.task === 'story') return { title: t('Your story is ready'), body: message.story_title ?? message.body };
  return { title: t('Your {task} job is done', { task }), body: t('The {task} job finished.', { task }) };
}
