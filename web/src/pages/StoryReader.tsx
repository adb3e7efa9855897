import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getRouteApi, useNavigate } from '@tanstack/react-router';
import { lazy, Suspense, useRef, useState } from 'react';
import { api, fetchBlob, ok, type Story } from '../api/client';
import { useT } from '../i18n';
import { Conflict, FormError, Input, isConflict, Select, TextArea } from '../ui/forms';
import { JobStatus, useGeneration } from '../ui/jobs';
import { download, SignedImage } from '../ui/media';
import { LANGUAGES } from './StoryCreator';
import { useParagraphWriter, type Rewrite } from './story/writer';

// The history and its word diff are fetched only when someone opens them.
const Versions = lazy(() => import('./story/Versions'));
const route = getRouteApi('/stories/$id');
const fileName = (title: string) => title.replace(/[^\p{L}\p{N} _-]+/gu, '').trim() || 'story';

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
  const writer = useParagraphWriter(id, refetch);
  // The paragraph whose rewrite (or continuation) is being asked for, with an optional wish.
  const [asking, setAsking] = useState<{ index: number; rewrite: Rewrite } | null>(null);
  const opener = useRef<HTMLButtonElement | null>(null); // focus goes back to it when the wish is cancelled
  const ask = (index: number, rewrite: Rewrite, button: HTMLButtonElement) => {
    opener.current = button;
    setAsking((a) => (a?.index === index && a.rewrite === rewrite ? null : { index, rewrite }));
  };

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
      download(new Blob([bytes as BlobPart], { type: 'application/epub+zip' }), `${fileName(title)}.epub`);
    },
  });
  // Made by the server (fpdf2, with its fonts and the illustrations): the same file for every client.
  const exportPdf = useMutation({
    mutationFn: async ({ title, language }: { title: string; language: string | null }) => {
      const query = language ? `?language=${encodeURIComponent(language)}` : '';
      download(await fetchBlob(`/api/v1/stories/${id}/export.pdf${query}`), `${fileName(title)}.pdf`);
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
  const conflict = isConflict(update.error);

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
        <button type="button" className="secondary" disabled={exportPdf.isPending} onClick={() => exportPdf.mutate({ title, language: showing ? lang : null })}>
          {exportPdf.isPending ? t('Making the PDF…') : t('Export PDF')}
        </button>
        <button type="button" className="secondary" aria-expanded={showVersions} onClick={() => setShowVersions((v) => !v)}>
          {t('Version history')}
        </button>
      </div>
      <FormError error={exportBook.error ?? exportPdf.error} />
      <JobStatus job={translate.job} label={t('Translation')} />
      <FormError error={translate.start.error} />
      {showVersions && (
        <Suspense fallback={<p role="status">{t('Loading…')}</p>}>
          <Versions story={s} />
        </Suspense>
      )}

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
                  <Conflict
                    message={t('Someone changed this story meanwhile. Reload it to see their version before editing again.')}
                    onReload={() => {
                      refetch();
                      setEditing(null);
                      update.reset();
                    }}
                  />
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
                <button
                  type="button"
                  className="link"
                  disabled={writer.running}
                  aria-expanded={asking?.index === i && asking.rewrite === 'regenerate'}
                  aria-label={t('Rewrite paragraph {n}', { n: i + 1 })}
                  onClick={(e) => ask(i, 'regenerate', e.currentTarget)}
                >
                  {t('Rewrite')}
                </button>
                <button
                  type="button"
                  className="link"
                  disabled={writer.running}
                  aria-expanded={asking?.index === i && asking.rewrite === 'continue'}
                  aria-label={t('Continue after paragraph {n}', { n: i + 1 })}
                  onClick={(e) => ask(i, 'continue', e.currentTarget)}
                >
                  {t('Continue')}
                </button>
              </p>
            )}
            {!showing && asking?.index === i && (
              <Wish
                n={i + 1}
                rewrite={asking.rewrite}
                busy={writer.running}
                onWrite={(wish) => {
                  setAsking(null);
                  writer.write(i, asking.rewrite, wish);
                }}
                onCancel={() => {
                  setAsking(null);
                  opener.current?.focus();
                }}
              />
            )}
            {illustrating === i && <JobStatus job={illustrate.job} label={t('Illustration')} />}
            {writer.target?.index === i && <Draft writer={writer} n={i + 1} />}
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

/**
 * Asks how a paragraph should be written again, or what the next one should do: an optional wish
 * ("make it funnier") sent with the job. Enter writes, Escape (or Cancel) leaves it unwritten.
 */
function Wish({ n, rewrite, busy, onWrite, onCancel }: { n: number; rewrite: Rewrite; busy: boolean; onWrite: (wish: string) => void; onCancel: () => void }) {
  const t = useT();
  const action = rewrite === 'continue' ? t('Write the next paragraph') : t('Write it again');
  return (
    <form
      className="wish no-print"
      aria-label={rewrite === 'continue' ? t('Continue after paragraph {n}', { n }) : t('Rewrite paragraph {n}', { n })}
      onSubmit={(e) => {
        e.preventDefault();
        onWrite(String(new FormData(e.currentTarget).get('wish') ?? ''));
      }}
      onKeyDown={(e) => {
        if (e.key === 'Escape') onCancel();
      }}
    >
      <Input label={t('Your wish (optional)')} name="wish" placeholder={t('for example: make it funnier')} maxLength={500} autoComplete="off" autoFocus />
      <p className="actions">
        <button type="submit" disabled={busy}>
          {action}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          {t('Cancel')}
        </button>
      </p>
    </form>
  );
}

/** A paragraph being written again, or the one being added after it, as its words arrive. */
function Draft({ writer, n }: { writer: ReturnType<typeof useParagraphWriter>; n: number }) {
  const t = useT();
  const label = writer.target?.rewrite === 'continue' ? t('New paragraph after paragraph {n}', { n }) : t('New text for paragraph {n}', { n });
  // The first words ended the warm-up, whether or not the job's own progress says so yet.
  const job = writer.job && writer.text && !writer.job.progress ? { ...writer.job, progress: 0.001 } : writer.job;
  return (
    <div className="draft no-print">
      <JobStatus job={job} label={label} />
      {writer.target?.wish && (
        <p className="wish-asked">
          {t('Your wish')}: <q>{writer.target.wish}</q>
        </p>
      )}
      <FormError error={writer.error} />
      {writer.running && (
        <>
          <p className="draft-text" aria-live="polite">
            {writer.text}
            <span className="cursor" aria-hidden="true" />
          </p>
          <button type="button" className="danger" onClick={writer.stop}>
            {t('Stop')}
          </button>
        </>
      )}
    </div>
  );
}
