import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useDeferredValue, useState } from 'react';
import { api, ok } from '../api/client';
import { useT } from '../i18n';
import { useMe } from '../Layout';
import { FormError, Input } from '../ui/forms';

export default function AdminUsers() {
  const t = useT();
  const { me } = useMe();
  const queryClient = useQueryClient();
  const [q, setQ] = useState('');
  const query = useDeferredValue(q.trim());
  const users = useInfiniteQuery({
    queryKey: ['admin-users', query],
    queryFn: async ({ pageParam }) =>
      ok(await api.GET('/api/v1/admin/users', { params: { query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}), ...(query ? { q: query } : {}) } } })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: me?.role === 'admin',
  });
  const update = useMutation({
    mutationFn: async ({ id, ...body }: { id: string; disabled?: boolean; role?: 'user' | 'admin' }) =>
      ok(await api.PATCH('/api/v1/admin/users/{user_id}', { params: { path: { user_id: id } }, body })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['admin-users'] }),
  });
  if (me && me.role !== 'admin') return <p>{t('Only administrators see this page.')}</p>;
  return (
    <section>
      <h1>{t('Users')}</h1>
      <p>
        <Link to="/admin/jobs">{t('Failed jobs')}</Link>
      </p>
      <search className="toolbar">
        <Input label={t('Search users')} type="search" value={q} onChange={(e) => setQ(e.target.value)} />
      </search>
      <FormError error={users.error ?? update.error} />
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">{t('Users')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('Name')}</th>
              <th scope="col">{t('Email')}</th>
              <th scope="col">{t('Role')}</th>
              <th scope="col">{t('Account')}</th>
              <th scope="col">{t('Usage')}</th>
            </tr>
          </thead>
          <tbody>
            {users.data?.pages
              .flatMap((p) => p.items)
              .map((u) => (
                <tr key={u.id}>
                  <td>{u.display_name}</td>
                  <td>{u.email}</td>
                  <td>
                    <label>
                      <span className="visually-hidden">{t('Role of {name}', { name: u.display_name })}</span>
                      <select value={u.role} disabled={u.id === me?.id} onChange={(e) => update.mutate({ id: u.id, role: e.target.value as 'user' | 'admin' })}>
                        <option value="user">{t('Member')}</option>
                        <option value="admin">{t('Administrator')}</option>
                      </select>
                    </label>
                  </td>
                  <td>
                    <button type="button" className={u.disabled ? 'secondary' : 'danger'} disabled={u.id === me?.id} onClick={() => update.mutate({ id: u.id, disabled: !u.disabled })}>
                      {u.disabled ? t('Enable {name}', { name: u.display_name }) : t('Disable {name}', { name: u.display_name })}
                    </button>
                  </td>
                  <td>
                    <Link to="/admin/users/$id/usage" params={{ id: u.id }} search={{ name: u.display_name }} aria-label={t('Usage of {name}', { name: u.display_name })}>
                      {t('Usage')}
                    </Link>
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
      {users.hasNextPage && (
        <button type="button" className="secondary" onClick={() => void users.fetchNextPage()}>
          {t('Show more')}
        </button>
      )}
    </section>
  );
}
