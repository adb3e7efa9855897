/** Generation jobs: start one, follow it live (events, with polling as a safety net), stop it. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { api, ok, type Job, type Schemas } from '../api/client';
import { onEvent } from '../events/socket';
import { useT, type T } from '../i18n';
import { Progress } from './forms';

export type GenerationCreate = Schemas['GenerationCreate'];
type Usage = Schemas['Usage'];
export const ACTIVE = new Set(['queued', 'running']);

export function useJob(id: string | null) {
  return useQuery({
    queryKey: ['jobs', id],
    queryFn: async () => ok(await api.GET('/api/v1/generations/{job_id}', { params: { path: { job_id: id! } } })),
    enabled: id !== null,
    // Events say when it changes; polling covers a socket that is still connecting.
    refetchInterval: (q) => (q.state.data && !ACTIVE.has(q.state.data.status) ? false : 3000),
  });
}

/** Start a job; ``onDone`` runs once when it succeeds. */
export function useGeneration(onDone?: (job: Job) => void) {
  const [id, setId] = useState<string | null>(null);
  const queryClient = useQueryClient();
  // A job's first events can arrive before the response that names it (a free worker starts it at
  // once): the ids of the changes seen meanwhile, so that the job is read again once it is known.
  const changedEarly = useRef(new Set<string>());
  const start = useMutation({
    mutationFn: async (body: GenerationCreate) => {
      changedEarly.current.clear();
      return ok(await api.POST('/api/v1/generations', { body }));
    },
    onSuccess: (job) => {
      queryClient.setQueryData(['jobs', job.id], job);
      setId(job.id);
      if (changedEarly.current.has(job.id)) void queryClient.invalidateQueries({ queryKey: ['jobs', job.id] });
    },
  });
  const job = useJob(id);
  useEffect(() => {
    return onEvent((event, name) => {
      if (!name.startsWith('generation.') || name === 'generation.progress' || typeof event.id !== 'string') return;
      if (event.id === id) void queryClient.invalidateQueries({ queryKey: ['jobs', id] });
      else changedEarly.current.add(event.id);
    });
  }, [id, queryClient]);
  const status = job.data?.status;
  useEffect(() => {
    if (status === 'succeeded' && job.data) onDone?.(job.data);
    // onDone once per finished job
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [status, id]);
  const stop = useMutation({
    mutationFn: async () => ok(await api.DELETE('/api/v1/generations/{job_id}', { params: { path: { job_id: id! } } })),
    onSuccess: (j) => queryClient.setQueryData(['jobs', j.id], j),
  });
  return { start, job: job.data ?? null, stop, reset: () => setId(null) };
}

/** Where an unfinished job is: its place in the queue, or the model warming up (loading, reading
 * the prompt) until the first words arrive. */
export function stage(job: Job, t: T): string | null {
  if (job.status === 'queued') return job.queue_position ? t('number {n} in the queue', { n: job.queue_position }) : t('waiting in the queue');
  if (job.status === 'running' && !job.progress) return t('warming up the model…');
  return null;
}

export function JobStatus({ job, label }: { job: Job | null; label: string }) {
  const t = useT();
  if (!job) return null;
  const where = stage(job, t);
  return (
    <div className="job" role="status" aria-live="polite">
      <span>
        {label}: <strong>{t(job.status)}</strong>
        {where ? ` · ${where}` : ''}
        {job.backend ? ` · ${job.backend}` : ''}
      </span>
      {ACTIVE.has(job.status) && <Progress value={job.status === 'running' ? (job.progress ?? null) : null} label={label} />}
      {job.status === 'failed' && <span className="error">{job.error}</span>}
    </div>
  );
}

/** Today's usage against the quotas: the person's own, or a user's for administrators. */
export function UsageList({ usage }: { usage: Usage }) {
  const t = useT();
  return (
    <dl className="usage">
      <div>
        <dt>{t('Tokens today')}</dt>
        <dd>
          {usage.tokens} / {usage.tokens_limit}
          <meter min={0} max={usage.tokens_limit || 1} value={usage.tokens} aria-label={t('Tokens today')} />
        </dd>
      </div>
      <div>
        <dt>{t('Images today')}</dt>
        <dd>
          {usage.images} / {usage.images_limit}
          <meter min={0} max={usage.images_limit || 1} value={usage.images} aria-label={t('Images today')} />
        </dd>
      </div>
      <div>
        <dt>{t('Jobs in flight')}</dt>
        <dd>
          {usage.active_jobs} / {usage.active_jobs_limit}
        </dd>
      </div>
    </dl>
  );
}
