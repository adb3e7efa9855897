import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { api, ok, type Schemas } from '../api/client';
import { useT } from '../i18n';
import { useMe } from '../Layout';
import { FormError, Select } from '../ui/forms';

type Task = Schemas['GenerationCreate']['task'];
const TASKS: Task[] = ['story', 'image', 'describe', 'translate'];

/** Every user's failed jobs, newest first: why each failed and which backends were asked. */
export default function AdminFailedJobs() {
  const t = useT();
  const { me } = useMe();
  const [task, setTask] = useState<Task | ''>('');
  const failed = useInfiniteQuery({
    queryKey: ['admin-failed', task],
    queryFn: async ({ pageParam }) =>
      ok(await api.GET('/api/v1/admin/generations/failed', { params: { query: { limit: 50, ...(pageParam ? { cursor: pageParam } : {}), ...(task ? { task } : {}) } } })),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: me?.role === 'admin',
  });
  if (me && me.role !== 'admin') return <p>{t('Only administrators see this page.')}</p>;
  const items = failed.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section>
      <h1>{t('Failed jobs')}</h1>
      <p>
        <Link to="/admin/users">{t('Users')}</Link>
      </p>
      <search className="toolbar">
        <Select label={t('Task')} value={task} onChange={(e) => setTask(e.target.value as Task | '')}>
          <option value="">{t('All tasks')}</option>
          {TASKS.map((k) => (
            <option key={k} value={k}>
              {t(k)}
            </option>
          ))}
        </Select>
      </search>
      <FormError error={failed.error} />
      {failed.isSuccess && items.length === 0 && <p>{t('No failed jobs.')}</p>}
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">{t('Failed jobs')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('Failed at')}</th>
              <th scope="col">{t('Task')}</th>
              <th scope="col">{t('Reason')}</th>
              <th scope="col">{t('Backends tried')}</th>
              <th scope="col">{t('Attempts')}</th>
              <th scope="col">{t('Owner')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((j) => (
              <tr key={j.id}>
                <td>{new Date(j.updated_at).toLocaleString()}</td>
                <td>{t(j.task)}</td>
                <td>
                  <span className="error">{j.error ?? t('no reason recorded')}</span>
                  {j.request_id && (
                    <small>
                      {' '}
                      · {t('request')} <code>{j.request_id}</code>
                    </small>
                  )}
                </td>
                <td>{j.backends_tried.length ? j.backends_tried.join(', ') : t('none')}</td>
                <td>{j.attempts}</td>
                <td>
                  <Link to="/admin/users/$id/usage" params={{ id: j.owner_id }} search={{ name: undefined }} aria-label={t('Usage of the owner of job {id}', { id: j.id })}>
                    {t('Usage')}
                  </Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {failed.hasNextPage && (
        <button type="button" className="secondary" onClick={() => void failed.fetchNextPage()}>
          {t('Show more')}
        </button>
      )}
    </section>
  );
}
