import { useMutation } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { api, ok } from '../api/client';
import { useT } from '../i18n';
import { fieldError, FormError, Input } from '../ui/forms';

export default function SignUp() {
  const t = useT();
  const navigate = useNavigate();
  const register = useMutation({
    mutationFn: async (body: { email: string; password: string; display_name: string }) =>
      ok(await api.POST('/api/v1/auth/register', { body })),
    onSuccess: (_, body) => navigate({ to: '/verify', search: { email: body.email } }),
  });
  return (
    <section className="narrow">
      <h1>{t('Sign up')}</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          register.mutate({ email: String(f.get('email')), password: String(f.get('password')), display_name: String(f.get('display_name')) });
        }}
      >
        <Input label={t('Name')} name="display_name" required autoComplete="name" error={fieldError(register.error, 'display_name')} />
        <Input label={t('Email')} name="email" type="email" required autoComplete="email" error={fieldError(register.error, 'email')} />
        <Input
          label={t('Password')}
          name="password"
          type="password"
          required
          minLength={8}
          autoComplete="new-password"
          hint={t('At least 8 characters.')}
          error={fieldError(register.error, 'password')}
        />
        <FormError error={register.error} shown={['email', 'password', 'display_name']} />
        <button type="submit" disabled={register.isPending}>
          {register.isPending ? t('Creating your account…') : t('Create account')}
        </button>
      </form>
      <p>
        {t('Already have an account?')} <Link to="/login" search={{ next: undefined }}>{t('Log in')}</Link>
      </p>
    </section>
  );
}
