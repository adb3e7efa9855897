import { useMutation } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { api, ok } from '../api/client';
import { useT } from '../i18n';
import { fieldError, FormError, Input } from '../ui/forms';

export default function Forgot() {
  const t = useT();
  const forgot = useMutation({
    mutationFn: async (email: string) => ok(await api.POST('/api/v1/auth/password/forgot', { body: { email } })),
  });
  return (
    <section className="narrow">
      <h1>{t('Forgot your password?')}</h1>
      {forgot.isSuccess ? (
        <p role="status">{t('If an account uses that address, a link to reset its password is on its way.')}</p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            forgot.mutate(String(new FormData(e.currentTarget).get('email')));
          }}
        >
          <Input label={t('Email')} name="email" type="email" required autoComplete="email" error={fieldError(forgot.error, 'email')} />
          <FormError error={forgot.error} shown={['email']} />
          <button type="submit" disabled={forgot.isPending}>
            {t('Send me a reset link')}
          </button>
        </form>
      )}
      <p>
        <Link to="/reset" search={{ token: undefined }}>{t('I have a reset code')}</Link>
      </p>
    </section>
  );
}
