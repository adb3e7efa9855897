/**
 * Writing one paragraph of a saved story again, or a new one after it: a `story` generation job with
 * `story_id`, `paragraph`, `rewrite` and the person's optional wish as `prompt` ("make it funnier"),
 * whose text streams in through `generation.progress` events
 * (the first may arrive before the request that started the job has answered) and is saved by the
 * worker as a new version of the story.
 */
import { useEffect, useRef, useState } from 'react';
import { onEvent } from '../../events/socket';
import { ACTIVE, useGeneration } from '../../ui/jobs';

export type Rewrite = 'regenerate' | 'continue';

/** The deltas of one job, in arrival order; a replayed event is counted once. */
class Deltas {
  private seen = new Set<string>();
  text = '';
  push(eventId: string, delta: string): string {
    if (!this.seen.has(eventId)) {
      this.seen.add(eventId);
      this.text += delta;
    }
    return this.text;
  }
}

export function useParagraphWriter(storyId: string, onSaved: () => void) {
  const generation = useGeneration(onSaved);
  const [target, setTarget] = useState<{ index: number; rewrite: Rewrite; wish: string } | null>(null);
  const [text, setText] = useState('');
  const streams = useRef(new Map<string, Deltas>());
  const jobId = useRef<string | null>(null);
  const id = generation.job?.id ?? null;

  useEffect(
    () =>
      onEvent((event, name) => {
        if (name !== 'generation.progress' || typeof event.delta !== 'string' || typeof event.paragraph !== 'number') return;
        let stream = streams.current.get(event.id);
        if (!stream) streams.current.set(event.id, (stream = new Deltas()));
        const so_far = stream.push(event.event_id, event.delta);
        if (event.id === jobId.current) setText(so_far);
      }),
    [],
  );
  useEffect(() => {
    jobId.current = id;
    setText(id ? (streams.current.get(id)?.text ?? '') : '');
  }, [id]);

  const job = generation.job;
  return {
    job,
    target,
    /** The words written so far, while the job runs. */
    text,
    running: generation.start.isPending || (job !== null && ACTIVE.has(job.status)),
    error: generation.start.error,
    /** Write paragraph ``index`` again, or a new one after it; ``wish`` (optional) says how. */
    write(index: number, rewrite: Rewrite, wish = '') {
      const prompt = wish.trim();
      setTarget({ index, rewrite, wish: prompt });
      setText('');
      generation.start.mutate({ task: 'story', input: { story_id: storyId, paragraph: index, rewrite, ...(prompt ? { prompt } : {}) } });
    },
    stop: () => generation.stop.mutate(),
  };
}
