import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ok } from '../api/client';
import { drawnImage } from '../api/images';
import { useT } from '../i18n';
import { FormError, Progress } from '../ui/forms';
import { ACTIVE, stage, UsageList } from '../ui/jobs';
import { SignedImage } from '../ui/media';

export default function Jobs() {
  const t = useT();
  const queryClient = useQueryClient();
  const jobs = useQuery({
    queryKey: ['jobs', 'list'],
    queryFn: async () => ok(await api.GET('/api/v1/generations', { params: { query: { limit: 50 } } })),
    // Live events refresh the list; poll slowly while something runs, for progress figures.
    refetchInterval: (q) => (q.state.data?.items.some((j) => ACTIVE.has(j.status)) ? 2000 : false),
  });
  const usage = useQuery({ queryKey: ['usage'], queryFn: async () => ok(await api.GET('/api/v1/users/me/usage')) });
  const cancel = useMutation({
    mutationFn: async (id: string) => ok(await api.DELETE('/api/v1/generations/{job_id}', { params: { path: { job_id: id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['jobs'] }),
  });
  const u = usage.data;
  return (
    <section>
      <h1>{t('My jobs')}</h1>
      {u && <UsageList usage={u} />}
      <FormError error={jobs.error ?? cancel.error} />
      {jobs.isSuccess && jobs.data.items.length === 0 && <p>{t('No jobs yet.')}</p>}
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">{t('My jobs')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('Task')}</th>
              <th scope="col">{t('Status')}</th>
              <th scope="col">{t('Started')}</th>
              <th scope="col">{t('Details')}</th>
            </tr>
          </thead>
          <tbody>
            {jobs.data?.items.map((j) => (
              <tr key={j.id}>
                <td>{t(j.task)}</td>
                <td>
                  {t(j.status)}
                  {stage(j, t) && <small className="stage"> · {stage(j, t)}</small>}
                  {ACTIVE.has(j.status) && <Progress value={j.status === 'running' ? (j.progress ?? null) : null} label={t('Progress')} />}
                </td>
                <td>{new Date(j.created_at).toLocaleString()}</td>
                <td>
                  {drawnImage(j) && <SignedImage url={drawnImage(j)} alt={t('Image drawn by this job')} className="job-image" onExpired={() => void jobs.refetch()} />}
                  {j.error && <span className="error">{j.error}</span>}
                  {j.backend && <small> {j.backend}</small>}
                  {ACTIVE.has(j.status) && (
                    <button type="button" className="secondary" onClick={() => cancel.mutate(j.id)}>
                      {t('Cancel')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
