import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Fragment, useState } from 'react';
import { api, ok, type Schemas } from '../api/client';
import { useT } from '../i18n';
import { useMe } from '../Layout';
import { FormError, Select } from '../ui/forms';

type Task = Schemas['GenerationCreate']['task'];
type LogLine = Schemas['LogLine'];
const TASKS: Task[] = ['story', 'image', 'describe', 'translate'];
// Said by the line's place, or by the row it opens under: not repeated on every line.
const SHOWN_APART = new Set(['timestamp', 'level', 'event', 'job_id', 'task', 'exception']);

function fields(line: LogLine): string {
  return Object.entries(line)
    .filter(([key]) => !SHOWN_APART.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

/** A job's log lines, oldest first, as the API and the workers wrote them. */
function JobLog({ id }: { id: string }) {
  const t = useT();
  const lines = useQuery({
    queryKey: ['admin-job-log', id],
    queryFn: async () => ok(await api.GET('/api/v1/admin/generations/{job_id}/logs', { params: { path: { job_id: id } } })),
  });
  if (lines.error) return <FormError error={lines.error} />;
  if (!lines.data) return <p role="status">{t('Loading…')}</p>;
  if (lines.data.items.length === 0) return <p>{t('No log lines are kept for this job.')}</p>;
  return (
    <ol className="log-lines" aria-label={t('Log lines of job {id}', { id })}>
      {lines.data.items.map((line, i) => (
        <li key={i} className={`log-${line.level}`}>
          <time dateTime={line.timestamp}>{new Date(line.timestamp).toLocaleString()}</time> <strong>{line.level}</strong> {line.event}{' '}
          <code>{fields(line)}</code>
          {typeof line.exception === 'string' && <pre>{line.exception}</pre>}
        </li>
      ))}
    </ol>
  );
}

/** Every user's failed jobs, newest first: why each failed and which backends were asked. */
export default function AdminFailedJobs() {
  const t = useT();
  const { me } = useMe();
  const [task, setTask] = useState<Task | ''>('');
  const [open, setOpen] = useState<string | null>(null);
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
              <th scope="col">{t('Log')}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((j) => (
              <Fragment key={j.id}>
                <tr>
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
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      aria-expanded={open === j.id}
                      aria-controls={`log-${j.id}`}
                      aria-label={t('Log lines of job {id}', { id: j.id })}
                      onClick={() => setOpen(open === j.id ? null : j.id)}
                    >
                      {t('Log lines')}
                    </button>
                  </td>
                </tr>
                {open === j.id && (
                  <tr id={`log-${j.id}`}>
                    <td colSpan={7}>
                      <JobLog id={j.id} />
                    </td>
                  </tr>
                )}
              </Fragment>
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
