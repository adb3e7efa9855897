import { useMutation } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { api, ok } from '../api/client';
import { useT } from '../i18n';
import { fieldError, FormError, Input } from '../ui/forms';

const route = getRouteApi('/reset');

export default function Reset() {
  const t = useT();
  const { token } = route.useSearch() as { token?: string };
  const reset = useMutation({
    mutationFn: async (body: { token: string; new_password: string }) => ok(await api.POST('/api/v1/auth/password/reset', { body })),
  });
  if (reset.isSuccess)
    return (
      <section className="narrow">
        <h1>{t('Password changed')}</h1>
        <p role="status">{t('Log in with your new password. Every other session was logged out.')}</p>
        <Link className="button" to="/login" search={{ next: undefined }}>
          {t('Log in')}
        </Link>
      </section>
    );
  return (
    <section className="narrow">
      <h1>{t('Choose a new password')}</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          reset.mutate({ token: String(f.get('token')).trim(), new_password: String(f.get('new_password')) });
        }}
      >
        <Input label={t('Reset code')} name="token" required defaultValue={token} error={fieldError(reset.error, 'token')} />
        <Input label={t('New password')} name="new_password" type="password" required minLength={8} autoComplete="new-password" error={fieldError(reset.error, 'new_password')} />
        <FormError error={reset.error} shown={['token', 'new_password']} />
        <button type="submit" disabled={reset.isPending}>
          {t('Change password')}
        </button>
      </form>
    </section>
  );
}
