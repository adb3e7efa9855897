import { useMutation, useQueryClient } from '@tanstack/react-query';
import { getRouteApi, Link, useNavigate } from '@tanstack/react-router';
import { api, ok, session } from '../api/client';
import { useT } from '../i18n';
import { fieldError, FormError, Input } from '../ui/forms';

const route = getRouteApi('/login');

export default function Login() {
  const t = useT();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { next } = route.useSearch() as { next?: string };
  const login = useMutation({
    mutationFn: async (body: { email: string; password: string }) => ok(await api.POST('/api/v1/auth/login', { body })),
    onSuccess: (pair) => {
      queryClient.clear();
      session.store(pair);
      // Only paths of this app: never an open redirect.
      void navigate({ to: next?.startsWith('/') && !next.startsWith('//') ? next : '/stories' });
    },
  });
  return (
    <section className="narrow">
      <h1>{t('Log in')}</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          login.mutate({ email: String(f.get('email')), password: String(f.get('password')) });
        }}
      >
        <Input label={t('Email')} name="email" type="email" required autoComplete="email" error={fieldError(login.error, 'email')} />
        <Input label={t('Password')} name="password" type="password" required autoComplete="current-password" error={fieldError(login.error, 'password')} />
        <FormError error={login.error} shown={['email', 'password']} />
        <button type="submit" disabled={login.isPending}>
          {login.isPending ? t('Logging in…') : t('Log in')}
        </button>
      </form>
      <p>
        <Link to="/forgot">{t('Forgot your password?')}</Link> · <Link to="/signup">{t('Sign up')}</Link> ·{' '}
        <Link to="/verify" search={{ email: undefined }}>{t('Verify your email')}</Link>
      </p>
    </section>
  );
}
