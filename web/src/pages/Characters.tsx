import { useInfiniteQuery, useMutation } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { useDeferredValue, useState } from 'react';
import { api, asIs, ok } from '../api/client';
import { useT } from '../i18n';
import { fieldError, FormError, Input } from '../ui/forms';
import { DropZone, SignedImage } from '../ui/media';

const PAGE = 12;

export default function Characters() {
  const t = useT();
  const navigate = useNavigate();
  const [q, setQ] = useState('');
  const query = useDeferredValue(q.trim());
  const list = useInfiniteQuery({
    queryKey: ['characters', query],
    queryFn: async ({ pageParam }) =>
      ok(await api.GET('/api/v1/characters', { params: { query: { limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}), ...(query ? { q: query } : {}) } } })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const create = useMutation({
    mutationFn: async (name: string) => ok(await api.POST('/api/v1/characters', { body: { name } })),
    onSuccess: (c) => navigate({ to: '/characters/$id', params: { id: c.id } }),
  });
  const importCard = useMutation({
    mutationFn: async (file: File) => {
      const form = new FormData();
      form.append('file', file);
      return ok(await api.POST('/api/v1/characters/import', { body: form as never, bodySerializer: asIs }));
    },
    onSuccess: (c) => navigate({ to: '/characters/$id', params: { id: c.id } }),
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <section>
      <h1>{t('Characters')}</h1>
      <div className="grid two">
        <form
          className="card"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate(String(new FormData(e.currentTarget).get('name')));
          }}
        >
          <h2>{t('New character')}</h2>
          <Input label={t('Name')} name="name" required maxLength={100} error={fieldError(create.error, 'name')} />
          <FormError error={create.error} shown={['name']} />
          <button type="submit" disabled={create.isPending}>
            {t('Create character')}
          </button>
        </form>
        <div className="card">
          <h2>{t('Import a Character Card')}</h2>
          <p>{t('A Character Card V2 or V3, as PNG or JSON.')}</p>
          <DropZone label={t('Choose a card')} accept="image/png,application/json,.json,.png" busy={importCard.isPending} onFile={(f) => importCard.mutate(f)} />
          <FormError error={importCard.error} />
        </div>
      </div>

      <search className="toolbar">
        <Input label={t('Search characters')} type="search" value={q} onChange={(e) => setQ(e.target.value)} />
      </search>
      {list.isPending && <p role="status">{t('Loading…')}</p>}
      <FormError error={list.error} />
      {list.isSuccess && items.length === 0 && <p>{query ? t('No character matches.') : t('No characters yet: create your first one above.')}</p>}
      <ul className="gallery">
        {items.map((c) => (
          <li key={c.id}>
            <Link to="/characters/$id" params={{ id: c.id }} className="tile">
              {c.portrait_id || c.photo_id ? (
                <SignedImage url={c.portrait_url ?? c.photo_url} alt="" className="thumb" onExpired={() => void list.refetch()} />
              ) : (
                <div className="thumb placeholder" aria-hidden="true">
                  {c.name.slice(0, 1).toUpperCase()}
                </div>
              )}
              <span>{c.name}</span>
            </Link>
          </li>
        ))}
      </ul>
      {list.hasNextPage && (
        <button type="button" className="secondary" disabled={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>
          {list.isFetchingNextPage ? t('Loading…') : t('Show more')}
        </button>
      )}
    </section>
  );
}
