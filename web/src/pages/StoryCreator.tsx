import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useEffect, useRef, useState } from 'react';
import { api, ok, type Schemas } from '../api/client';
import { onEvent } from '../events/socket';
import { StoryStream, type Assembled } from '../events/stream';
import { useT } from '../i18n';
import { fieldError, FormError, Input, Select, TextArea } from '../ui/forms';
import { ACTIVE, JobStatus, useGeneration } from '../ui/jobs';

type StoryInput = Schemas['StoryInput'];

export const LANGUAGES: Record<string, string> = { en: 'English', es: 'Español', fr: 'Français', de: 'Deutsch', it: 'Italiano', pt: 'Português', ca: 'Català' };

export default function StoryCreator() {
  const t = useT();
  const characters = useQuery({
    queryKey: ['characters', 'all'],
    queryFn: async () => ok(await api.GET('/api/v1/characters', { params: { query: { limit: 100 } } })),
  });
  const generation = useGeneration();
  const { job } = generation;
  // Deltas of every story job seen on this page, by job id: the first ones may arrive before
  // the POST that started the job has answered.
  const streams = useRef(new Map<string, StoryStream>());
  const [story, setStory] = useState<Assembled | null>(null);
  const jobId = job?.id ?? null;

  useEffect(
    () =>
      onEvent((event, name) => {
        if (name !== 'generation.progress' || typeof event.delta !== 'string') return;
        let stream = streams.current.get(event.id);
        if (!stream) streams.current.set(event.id, (stream = new StoryStream()));
        const assembled = stream.push(event.event_id, event.delta);
        if (event.id === jobIdRef.current) setStory(assembled);
      }),
    [],
  );
  const jobIdRef = useRef<string | null>(null);
  useEffect(() => {
    jobIdRef.current = jobId;
    if (jobId) setStory(streams.current.get(jobId)?.value ?? null);
  }, [jobId]);

  const result = job?.status === 'succeeded' ? (job.result as { title?: string; paragraphs?: string[]; story_id?: string } | null) : null;
  const shown: Assembled | null = result?.paragraphs ? { title: result.title ?? null, paragraphs: result.paragraphs, open: false } : story;
  const error = generation.start.error;
  const err = (f: string) => fieldError(error, `input.${f}`);
  const running = job !== null && ACTIVE.has(job.status);

  return (
    <section>
      <h1>{t('Write a new story')}</h1>
      <form
        className="card"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const list = (k: string) => String(f.get(k) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
          const backend = String(f.get('backend') ?? '');
          setStory(null);
          generation.start.mutate({
            task: 'story',
            ...(backend ? { backend } : {}),
            input: {
              prompt: String(f.get('prompt')),
              audience: String(f.get('audience')) as StoryInput['audience'],
              character_ids: f.getAll('character_ids').map(String),
              ...(f.get('genre') ? { genre: String(f.get('genre')) } : {}),
              values: list('values'),
              length: String(f.get('length')) as StoryInput['length'],
              language: String(f.get('language')),
              save: true,
            },
          });
        }}
      >
        <TextArea label={t('What is the story about?')} name="prompt" required rows={3} maxLength={20000} error={err('prompt')} />
        <fieldset>
          <legend>{t('Characters')}</legend>
          {characters.data?.items.length === 0 && (
            <p>
              {t('No characters yet.')} <Link to="/characters">{t('Create one')}</Link>
            </p>
          )}
          <div className="checks">
            {characters.data?.items.map((c) => (
              <label key={c.id}>
                <input type="checkbox" name="character_ids" value={c.id} /> {c.name}
              </label>
            ))}
          </div>
          {err('character_ids') && <small className="error">{err('character_ids')}</small>}
        </fieldset>
        <div className="grid three">
          <Select label={t('Audience')} name="audience" defaultValue="children" error={err('audience')}>
            <option value="children">{t('children')}</option>
            <option value="young">{t('young')}</option>
            <option value="general">{t('general')}</option>
          </Select>
          <Select label={t('Length')} name="length" defaultValue="short" error={err('length')}>
            <option value="short">{t('short')}</option>
            <option value="medium">{t('medium')}</option>
            <option value="long">{t('long')}</option>
          </Select>
          <Select label={t('Language')} name="language" defaultValue="en" error={err('language')}>
            {Object.entries(LANGUAGES).map(([code, name]) => (
              <option key={code} value={code}>
                {name}
              </option>
            ))}
          </Select>
          <Input label={t('Genre')} name="genre" maxLength={60} placeholder={t('adventure')} error={err('genre')} />
          <Input label={t('Values (comma separated)')} name="values" placeholder={t('friendship, courage')} error={err('values')} />
          <Input label={t('Model backend (optional)')} name="backend" pattern="[A-Za-z0-9_-]{1,63}" hint={t('Empty: the platform chooses.')} error={fieldError(error, 'backend')} />
        </div>
        <FormError error={error} shown={['input.prompt', 'input.audience', 'input.length', 'input.language', 'input.genre', 'input.values', 'input.character_ids', 'backend']} />
        <p className="actions">
          <button type="submit" disabled={generation.start.isPending || running}>
            {t('Generate')}
          </button>
          {running && (
            <button type="button" className="danger" onClick={() => generation.stop.mutate()} disabled={generation.stop.isPending}>
              {t('Stop')}
            </button>
          )}
        </p>
      </form>

      <JobStatus job={job} label={t('Story')} />
      {shown && (
        <article className="story" aria-live="polite" aria-busy={running}>
          <h2>{shown.title ?? t('Untitled story')}</h2>
          {shown.paragraphs.map((p, i) => (
            <p key={i} className="paragraph">
              {p}
              {running && shown.open && i === shown.paragraphs.length - 1 && <span className="cursor" aria-hidden="true" />}
            </p>
          ))}
        </article>
      )}
      {result?.story_id && (
        <p>
          <Link className="button" to="/stories/$id" params={{ id: result.story_id }}>
            {t('Open the story')}
          </Link>
        </p>
      )}
    </section>
  );
}
