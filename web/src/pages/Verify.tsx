import { useMutation } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { api, ok } from '../api/client';
import { useT } from '../i18n';
import { fieldError, FormError, Input } from '../ui/forms';

const route = getRouteApi('/verify');

export default function Verify() {
  const t = useT();
  const { email } = route.useSearch() as { email?: string };
  const verify = useMutation({
    mutationFn: async (body: { email: string; code: string }) => ok(await api.POST('/api/v1/auth/verify', { body })),
  });
  const resend = useMutation({
    mutationFn: async (address: string) => ok(await api.POST('/api/v1/auth/verify/resend', { body: { email: address } })),
  });
  if (verify.isSuccess)
    return (
      <section className="narrow">
        <h1>{t('Email verified')}</h1>
        <p role="status">{t('Your account is ready.')}</p>
        <Link className="button" to="/login" search={{ next: undefined }}>
          {t('Log in')}
        </Link>
      </section>
    );
  return (
    <section className="narrow">
      <h1>{t('Verify your email')}</h1>
      <p>{t('We sent a code to your email address. Enter it here.')}</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          verify.mutate({ email: String(f.get('email')), code: String(f.get('code')).trim() });
        }}
      >
        <Input label={t('Email')} name="email" type="email" required defaultValue={email} autoComplete="email" error={fieldError(verify.error, 'email')} />
        <Input label={t('Code')} name="code" required inputMode="numeric" autoComplete="one-time-code" error={fieldError(verify.error, 'code')} />
        <FormError error={verify.error} shown={['email', 'code']} />
        <button type="submit" disabled={verify.isPending}>
          {t('Verify')}
        </button>
        <button type="button" className="secondary" disabled={!email || resend.isPending} onClick={() => email && resend.mutate(email)}>
          {t('Send a new code')}
        </button>
        {resend.isSuccess && <p role="status">{t('A new code is on its way.')}</p>}
      </form>
    </section>
  );
}
