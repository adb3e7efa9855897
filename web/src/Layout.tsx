/** The frame of every page: a skip link, the navigation, the live-events wiring, the language. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, Outlet, useNavigate } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { api, ok, session } from './api/client';
import { connect, connection, disconnect, onEvent } from './events/socket';
import { LANGS, useI18n, type Lang } from './i18n';

export function useMe() {
  const [tokens, setTokens] = useState(session.tokens());
  useEffect(() => session.subscribe(setTokens), []);
  const me = useQuery({
    queryKey: ['me'],
    queryFn: async () => ok(await api.GET('/api/v1/users/me')),
    enabled: tokens !== null,
  });
  return { loggedIn: tokens !== null, me: tokens ? me.data : undefined };
}

/** Keep cached data in step with what other tabs, devices and workers change. */
function useLiveEvents(loggedIn: boolean) {
  const queryClient = useQueryClient();
  useEffect(() => {
    if (!loggedIn) return;
    connect();
    const off = onEvent((event, name) => {
      if (name === 'story.updated') {
        void queryClient.invalidateQueries({ queryKey: ['story', event.id] });
        void queryClient.invalidateQueries({ queryKey: ['stories'] });
      } else if (name === 'character.updated') {
        void queryClient.invalidateQueries({ queryKey: ['character', event.id] });
        void queryClient.invalidateQueries({ queryKey: ['characters'] });
      } else if (name === 'events.resync') {
        void queryClient.invalidateQueries();
      } else if (name !== 'generation.progress') {
        void queryClient.invalidateQueries({ queryKey: ['jobs'] });
        void queryClient.invalidateQueries({ queryKey: ['usage'] });
      }
    });
    return () => {
      off();
      disconnect();
    };
  }, [loggedIn, queryClient]);
}

function useOnline() {
  const [online, setOnline] = useState(navigator.onLine);
  useEffect(() => {
    const up = () => setOnline(true);
    const down = () => setOnline(false);
    window.addEventListener('online', up);
    window.addEventListener('offline', down);
    return () => {
      window.removeEventListener('online', up);
      window.removeEventListener('offline', down);
    };
  }, []);
  return online;
}

function useConnected() {
  const [up, setUp] = useState(connection.connected);
  useEffect(() => {
    connection.listeners.add(setUp);
    return () => void connection.listeners.delete(setUp);
  }, []);
  return up;
}

export function Layout() {
  const { t, lang, setLang } = useI18n();
  const { loggedIn, me } = useMe();
  const online = useOnline();
  const live = useConnected();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  useLiveEvents(loggedIn);

  useEffect(() => {
    // Logged out in another tab (or the refresh token was refused): leave the private pages.
    return session.subscribe((tokens) => {
      if (!tokens) {
        queryClient.clear();
        void navigate({ to: '/login' });
      }
    });
  }, [navigate, queryClient]);

  return (
    <>
      <a className="skip" href="#main">
        {t('Skip to content')}
      </a>
      <header className="top">
        <Link to="/" className="brand">
          StoryBang
        </Link>
        <nav aria-label={t('Main')}>
          {loggedIn ? (
            <>
              <Link to="/stories">{t('Stories')}</Link>
              <Link to="/characters">{t('Characters')}</Link>
              <Link to="/jobs">{t('Jobs')}</Link>
              {me?.role === 'admin' && <Link to="/admin/users">{t('Admin')}</Link>}
              <Link to="/profile">{t('Profile')}</Link>
            </>
          ) : (
            <>
              <Link to="/login" search={{ next: undefined }}>
                {t('Log in')}
              </Link>
              <Link to="/signup">{t('Sign up')}</Link>
            </>
          )}
          <label className="lang">
            <span className="visually-hidden">{t('Interface language')}</span>
            <select value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
              {Object.entries(LANGS).map(([code, name]) => (
                <option key={code} value={code}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        </nav>
      </header>
      {!online && (
        <p className="banner" role="status">
          {t('You are offline: what you see may be out of date.')}
        </p>
      )}
      {online && loggedIn && !live && (
        <p className="banner subtle" role="status">
          {t('Connecting to live updates…')}
        </p>
      )}
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}
