import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getRouteApi, useNavigate } from '@tanstack/react-router';
import { useState } from 'react';
import { api, ApiError, fetchBlob, ok, type Story } from '../api/client';
import { useT } from '../i18n';
import { FormError, Select, TextArea } from '../ui/forms';
import { JobStatus, useGeneration } from '../ui/jobs';
import { download, SignedImage } from '../ui/media';
import { LANGUAGES } from './StoryCreator';

const route = getRouteApi('/stories/$id');

type Paragraph = Story['paragraphs'][number];

export default function StoryReader() {
  const t = useT();
  const { id } = route.useParams();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [lang, setLang] = useState<string>('');
  // The paragraph being edited, and the revision it was read at: saved only over that revision.
  const [editing, setEditing] = useState<{ index: number; revision: number } | null>(null);
  const [showVersions, setShowVersions] = useState(false);
  const story = useQuery({
    queryKey: ['story', id],
    queryFn: async () => ok(await api.GET('/api/v1/stories/{story_id}', { params: { path: { story_id: id } } })),
  });
  const refetch = () => void queryClient.invalidateQueries({ queryKey: ['story', id] });
  const translate = useGeneration(refetch);
  const illustrate = useGeneration(refetch);
  const [illustrating, setIllustrating] = useState<number | null>(null);

  const update = useMutation({
    mutationFn: async ({ paragraphs, revision }: { paragraphs: Paragraph[]; revision: number }) =>
      ok(
        await api.PATCH('/api/v1/stories/{story_id}', {
          params: { path: { story_id: id }, header: { 'if-match': `"${revision}"` } },
          body: { paragraphs },
        }),
      ),
    onSuccess: (s) => {
      queryClient.setQueryData(['story', id], s);
      void queryClient.invalidateQueries({ queryKey: ['versions', id] });
      setEditing(null);
    },
  });
  const exportBook = useMutation({
    mutationFn: async ({ title, language, paragraphs }: { title: string; language: string; paragraphs: Paragraph[] }) => {
      const { epub } = await import('../export/epub');
      const book = await Promise.all(
        paragraphs.map(async (p) => {
          if (!p.image_id) return { text: p.text };
          const blob = await fetchBlob(`/api/v1/stories/${id}/images/${p.image_id}`);
          return { text: p.text, image: { id: p.image_id, type: blob.type, data: new Uint8Array(await blob.arrayBuffer()) } };
        }),
      );
      const bytes = epub({ id, title, language, paragraphs: book, modified: new Date() });
      download(new Blob([bytes as BlobPart], { type: 'application/epub+zip' }), `${title.replace(/[^\p{L}\p{N} _-]+/gu, '').trim() || 'story'}.epub`);
    },
  });
  const remove = useMutation({
    mutationFn: async () => ok(await api.DELETE('/api/v1/stories/{story_id}', { params: { path: { story_id: id } } })),
    onSuccess: () => navigate({ to: '/stories' }),
  });

  if (story.isPending) return <p role="status">{t('Loading…')}</p>;
  if (story.isError) return <FormError error={story.error} />;
  const s = story.data;
  const original = s.language ?? 'en';
  const showing = lang && lang !== original ? s.translations?.[lang] : undefined;
  const title = showing?.title ?? s.title;
  const paragraphs = showing?.paragraphs ?? s.paragraphs;
  const conflict = update.error instanceof ApiError && update.error.problem.status === 412;

  const chooseLanguage = (code: string) => {
    setLang(code);
    if (code && code !== original && !s.translations?.[code]) translate.start.mutate({ task: 'translate', input: { story_id: id, target_language: code } });
  };

  return (
    <section className="reader">
      <div className="toolbar no-print">
        <Select label={t('Read in')} value={lang || original} onChange={(e) => chooseLanguage(e.target.value)}>
          {Object.entries(LANGUAGES).map(([code, name]) => (
            <option key={code} value={code}>
              {name}
              {code === original ? ` (${t('original')})` : s.translations?.[code] ? '' : ` — ${t('translate')}`}
            </option>
          ))}
        </Select>
        <button type="button" className="secondary" onClick={() => window.print()}>
          {t('Print')}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={exportBook.isPending}
          onClick={() => exportBook.mutate({ title, language: lang || original, paragraphs: paragraphs.map((p, i) => ({ ...p, image_id: p.image_id ?? s.paragraphs[i]?.image_id ?? null })) })}
        >
          {exportBook.isPending ? t('Making the EPUB…') : t('Export EPUB')}
        </button>
        <button type="button" className="secondary" aria-expanded={showVersions} onClick={() => setShowVersions((v) => !v)}>
          {t('Version history')}
        </button>
      </div>
      <FormError error={exportBook.error} />
      <JobStatus job={translate.job} label={t('Translation')} />
      <FormError error={translate.start.error} />
      {showVersions && <Versions id={id} current={s.version} />}

      <article className="story" lang={lang || original}>
        <h1>{title}</h1>
        {paragraphs.map((p, i) => (
          <div key={i} className="paragraph-block">
            {p.image_id && <SignedImage url={s.image_urls?.[p.image_id]} alt={t('Illustration of paragraph {n}', { n: i + 1 })} className="illustration" onExpired={refetch} />}
            {editing?.index === i && !showing ? (
              <form
                className="no-print"
                onSubmit={(e) => {
                  e.preventDefault();
                  const text = String(new FormData(e.currentTarget).get('text'));
                  update.mutate({ paragraphs: s.paragraphs.map((q, j) => (j === i ? { ...q, text } : q)), revision: editing.revision });
                }}
              >
                <TextArea label={t('Paragraph {n}', { n: i + 1 })} name="text" defaultValue={p.text} rows={6} required autoFocus />
                {conflict ? (
                  <p className="error" role="alert">
                    {t('Someone changed this story meanwhile. Reload it to see their version before editing again.')}{' '}
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => {
                        refetch();
                        setEditing(null);
                        update.reset();
                      }}
                    >
                      {t('Reload')}
                    </button>
                  </p>
                ) : (
                  <FormError error={update.error} />
                )}
                <button type="submit" disabled={update.isPending}>
                  {t('Save paragraph')}
                </button>
                <button type="button" className="secondary" onClick={() => setEditing(null)}>
                  {t('Cancel')}
                </button>
              </form>
            ) : (
              <p className="paragraph">{p.text}</p>
            )}
            {!showing && editing?.index !== i && (
              <p className="paragraph-actions no-print">
                <button type="button" className="link" onClick={() => {
                    update.reset();
                    setEditing({ index: i, revision: s.revision });
                  }} aria-label={t('Edit paragraph {n}', { n: i + 1 })}>
                  {t('Edit')}
                </button>
                <button
                  type="button"
                  className="link"
                  aria-label={t('Illustrate paragraph {n}', { n: i + 1 })}
                  onClick={() => {
                    setIllustrating(i);
                    illustrate.start.mutate({ task: 'image', input: { story_id: id, paragraph: i } });
                  }}
                >
                  {t('Illustrate')}
                </button>
              </p>
            )}
            {illustrating === i && <JobStatus job={illustrate.job} label={t('Illustration')} />}
          </div>
        ))}
      </article>
      <p className="no-print">
        <button
          type="button"
          className="danger"
          onClick={() => {
            if (window.confirm(t('Delete this story?'))) remove.mutate();
          }}
        >
          {t('Delete story')}
        </button>
      </p>
    </section>
  );
}

function Versions({ id, current }: { id: string; current: number }) {
  const t = useT();
  const queryClient = useQueryClient();
  const versions = useQuery({
    queryKey: ['versions', id, current],
    queryFn: async () => ok(await api.GET('/api/v1/stories/{story_id}/versions', { params: { path: { story_id: id } } })),
  });
  const restore = useMutation({
    mutationFn: async (number: number) => ok(await api.POST('/api/v1/stories/{story_id}/versions/{number}/restore', { params: { path: { story_id: id, number } } })),
    onSuccess: (s) => queryClient.setQueryData(['story', id], s),
  });
  return (
    <section className="card no-print" aria-label={t('Version history')}>
      <h2>{t('Version history')}</h2>
      <p>{t('This is version {n}.', { n: current })}</p>
      <FormError error={versions.error ?? restore.error} />
      <ul className="list">
        {versions.data?.items.map((v) => (
          <li key={v.number}>
            {t('Version {n}', { n: v.number })} · {new Date(v.created_at).toLocaleString()} · {v.title}{' '}
            <button type="button" className="secondary" disabled={restore.isPending} onClick={() => restore.mutate(v.number)}>
              {t('Restore version {n}', { n: v.number })}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
