/**
 * A story's version history: each kept version, what changed between it and the current text
 * (word by word), and restoring it. Loaded only when the history is opened, with its diff library.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ok, type Story } from '../../api/client';
import { useT } from '../../i18n';
import { FormError } from '../../ui/forms';
import { counts, storyDiff } from './diff';

export default function Versions({ story }: { story: Story }) {
  const t = useT();
  const queryClient = useQueryClient();
  const id = story.id;
  const [comparing, setComparing] = useState<number | null>(null);
  const versions = useQuery({
    queryKey: ['versions', id, story.version],
    queryFn: async () => ok(await api.GET('/api/v1/stories/{story_id}/versions', { params: { path: { story_id: id } } })),
  });
  const restore = useMutation({
    mutationFn: async (number: number) => ok(await api.POST('/api/v1/stories/{story_id}/versions/{number}/restore', { params: { path: { story_id: id, number } } })),
    onSuccess: (s) => {
      setComparing(null);
      queryClient.setQueryData(['story', id], s);
    },
  });
  return (
    <section className="card no-print" aria-label={t('Version history')}>
      <h2>{t('Version history')}</h2>
      <p>{t('This is version {n}.', { n: story.version })}</p>
      <FormError error={versions.error ?? restore.error} />
      <ul className="list versions">
        {versions.data?.items.map((v) => (
          <li key={v.number}>
            <span>
              {t('Version {n}', { n: v.number })} · {new Date(v.created_at).toLocaleString()} · {v.title}
            </span>{' '}
            <button type="button" className="secondary" aria-expanded={comparing === v.number} onClick={() => setComparing((c) => (c === v.number ? null : v.number))}>
              {t('Compare version {n}', { n: v.number })}
            </button>{' '}
            <button type="button" className="secondary" disabled={restore.isPending} onClick={() => restore.mutate(v.number)}>
              {t('Restore version {n}', { n: v.number })}
            </button>
            {comparing === v.number && <Diff story={story} number={v.number} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Diff({ story, number }: { story: Story; number: number }) {
  const t = useT();
  const version = useQuery({
    queryKey: ['version', story.id, number],
    queryFn: async () => ok(await api.GET('/api/v1/stories/{story_id}/versions/{number}', { params: { path: { story_id: story.id, number } } })),
    staleTime: Infinity, // a kept version never changes
  });
  if (version.isPending) return <p role="status">{t('Loading…')}</p>;
  if (version.isError) return <FormError error={version.error} />;
  const text = (s: { title: string; paragraphs: { text: string }[] }) => ({ title: s.title, paragraphs: s.paragraphs.map((p) => p.text) });
  const parts = storyDiff(text(version.data), text(story));
  const { removed, added } = counts(parts);
  return (
    <figure className="diff" lang={story.language ?? undefined}>
      <figcaption>
        {t('From version {n} to the current text: {removed} words removed (struck through), {added} added (underlined).', { n: number, removed, added })}
      </figcaption>
      <div className="diff-text">
        {parts.map((p, i) =>
          p.kind === 'same' ? (
            <span key={i}>{p.text}</span>
          ) : p.kind === 'removed' ? (
            <del key={i}>
              <span className="visually-hidden">[{t('removed')}: </span>
              {p.text}
              <span className="visually-hidden">]</span>
            </del>
          ) : (
            <ins key={i}>
              <span className="visually-hidden">[{t('added')}: </span>
              {p.text}
              <span className="visually-hidden">]</span>
            </ins>
          ),
        )}
      </div>
    </figure>
  );
}
