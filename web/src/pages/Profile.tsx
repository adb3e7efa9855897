import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { api, ok, session } from '../api/client';
import { useT } from '../i18n';
import { useMe } from '../Layout';
import { disablePush, enablePush, pushState, type PushState } from '../push/subscribe';
import { fieldError, FormError, Input } from '../ui/forms';

export async function logOut() {
  const tokens = session.tokens();
  if (tokens) await api.POST('/api/v1/auth/logout', { body: { refresh_token: tokens.refresh } }).catch(() => undefined);
  session.clear();
}

/** "Notify me when a story is ready": the browser asks for permission only when this is clicked. */
function Notifications() {
  const t = useT();
  const [state, setState] = useState<PushState | null>(null);
  useEffect(() => {
    void pushState().then(setState, () => setState('unsupported'));
  }, []);
  const change = useMutation({
    mutationFn: (on: boolean) => (on ? enablePush() : disablePush()),
    onSuccess: setState,
  });
  if (state === null) return null;
  return (
    <>
      <h2>{t('Notifications')}</h2>
      {state === 'unsupported' ? (
        <p>{t('This browser cannot show notifications from StoryBang.')}</p>
      ) : (
        <p>
          <label>
            <input
              type="checkbox"
              checked={state === 'on'}
              disabled={state === 'denied' || change.isPending}
              onChange={(e) => change.mutate(e.currentTarget.checked)}
            />{' '}
            {t('Notify me when a story is ready')}
          </label>
          <br />
          <small>
            {state === 'denied'
              ? t('Notifications are blocked for this site: allow them in the browser’s settings first.')
              : t('On this device, when StoryBang is not on screen: a story or another job that ends.')}
          </small>
        </p>
      )}
      <FormError error={change.error} />
    </>
  );
}

export default function Profile() {
  const t = useT();
  const { me } = useMe();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);

  const update = useMutation({
    mutationFn: async (body: { display_name?: string; password?: string; current_password?: string }) =>
      ok(await api.PATCH('/api/v1/users/me', { body })),
    onSuccess: (user) => queryClient.setQueryData(['me'], user),
  });
  const remove = useMutation({
    // The API asks for the password again: a device left unlocked cannot erase an account.
    mutationFn: async (password: string) => ok(await api.DELETE('/api/v1/users/me', { body: { password } })),
    onSuccess: () => {
      session.clear();
      void navigate({ to: '/' });
    },
  });

  const everywhere = useMutation({
    mutationFn: async () => ok(await api.POST('/api/v1/auth/logout/all')),
    onSuccess: () => {
      session.clear();
      void navigate({ to: '/login', search: { next: undefined } });
    },
  });

  if (!me) return <p role="status">{t('Loading…')}</p>;
  return (
    <section className="narrow">
      <h1>{t('Profile')}</h1>
      <p>
        {me.email} · {me.role === 'admin' ? t('Administrator') : t('Member')}
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const password = String(f.get('password') || '');
          update.mutate({
            display_name: String(f.get('display_name')),
            ...(password ? { password, current_password: String(f.get('current_password')) } : {}),
          });
        }}
      >
        <h2>{t('Your details')}</h2>
        <Input label={t('Name')} name="display_name" defaultValue={me.display_name} required error={fieldError(update.error, 'display_name')} />
        <Input label={t('New password (optional)')} name="password" type="password" minLength={8} autoComplete="new-password" error={fieldError(update.error, 'password')} />
        <Input label={t('Current password')} name="current_password" type="password" autoComplete="current-password" error={fieldError(update.error, 'current_password')} />
        <FormError error={update.error} shown={['display_name', 'password', 'current_password']} />
        {update.isSuccess && <p role="status">{t('Saved.')}</p>}
        <button type="submit" disabled={update.isPending}>
          {t('Save')}
        </button>
      </form>

      <Notifications />

      <h2>{t('Sessions')}</h2>
      <p>
        <button
          type="button"
          className="secondary"
          onClick={async () => {
            await logOut();
            void navigate({ to: '/login', search: { next: undefined } });
          }}
        >
          {t('Log out')}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={everywhere.isPending}
          onClick={() => everywhere.mutate()}
        >
          {t('Log out everywhere')}
        </button>
      </p>
      <p>
        <small>{t('Log out everywhere ends the sessions of every device, this one included: for a lost phone.')}</small>
      </p>
      <FormError error={everywhere.error} />

      <h2>{t('Delete your account')}</h2>
      <p>{t('This deletes your characters, stories, images and jobs. It cannot be undone.')}</p>
      {confirming ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            remove.mutate(String(new FormData(e.currentTarget).get('confirm_password')));
          }}
        >
          <Input label={t('Your password, to confirm')} name="confirm_password" type="password" required autoComplete="current-password" error={fieldError(remove.error, 'password')} />
          <FormError error={remove.error} shown={['password']} />
          <button type="submit" className="danger" disabled={remove.isPending}>
            {t('Delete my account for good')}
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            {t('Cancel')}
          </button>
        </form>
      ) : (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          {t('Delete my account…')}
        </button>
      )}
    </section>
  );
}
