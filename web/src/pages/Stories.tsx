import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useDeferredValue, useState } from 'react';
import { api, ok } from '../api/client';
import { useT } from '../i18n';
import { FormError, Input } from '../ui/forms';

export default function Stories() {
  const t = useT();
  const [q, setQ] = useState('');
  const query = useDeferredValue(q.trim());
  const list = useInfiniteQuery({
    queryKey: ['stories', query],
    queryFn: async ({ pageParam }) =>
      ok(await api.GET('/api/v1/stories', { params: { query: { limit: 20, ...(pageParam ? { cursor: pageParam } : {}), ...(query ? { q: query } : {}) } } })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section>
      <h1>{t('Stories')}</h1>
      <p>
        <Link className="button" to="/stories/new">
          {t('Write a new story')}
        </Link>
      </p>
      <search className="toolbar">
        <Input label={t('Search stories')} type="search" value={q} onChange={(e) => setQ(e.target.value)} />
      </search>
      {list.isPending && <p role="status">{t('Loading…')}</p>}
      <FormError error={list.error} />
      {list.isSuccess && items.length === 0 && <p>{t('No stories yet.')}</p>}
      <ul className="list">
        {items.map((s) => (
          <li key={s.id}>
            <Link to="/stories/$id" params={{ id: s.id }}>
              {s.title}
            </Link>{' '}
            <small>
              {t(s.audience)} · {new Date(s.updated_at).toLocaleDateString()}
            </small>
          </li>
        ))}
      </ul>
      {list.hasNextPage && (
        <button type="button" className="secondary" onClick={() => void list.fetchNextPage()}>
          {t('Show more')}
        </button>
      )}
    </section>
  );
}
