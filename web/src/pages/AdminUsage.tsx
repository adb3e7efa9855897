import { useQuery } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { api, ok } from '../api/client';
import { useT } from '../i18n';
import { useMe } from '../Layout';
import { FormError } from '../ui/forms';
import { UsageList } from '../ui/jobs';

const route = getRouteApi('/admin/users/$id/usage');

/** One user's usage today against their limits, for administrators. */
export default function AdminUsage() {
  const t = useT();
  const { me } = useMe();
  const { id } = route.useParams();
  const { name } = route.useSearch();
  const usage = useQuery({
    queryKey: ['admin-usage', id],
    queryFn: async () => ok(await api.GET('/api/v1/admin/usage/{user_id}', { params: { path: { user_id: id } } })),
    enabled: me?.role === 'admin',
    refetchInterval: 10_000,
  });
  if (me && me.role !== 'admin') return <p>{t('Only administrators see this page.')}</p>;
  return (
    <section>
      <h1>{name ? t('Usage of {name}', { name }) : t('Usage of a user')}</h1>
      <p>
        <Link to="/admin/users">{t('Users')}</Link> · <Link to="/admin/jobs">{t('Failed jobs')}</Link>
      </p>
      <FormError error={usage.error} />
      {usage.data && (
        <>
          <p>{t('Today (UTC): {day}', { day: usage.data.day })}</p>
          <UsageList usage={usage.data} />
        </>
      )}
    </section>
  );
}
