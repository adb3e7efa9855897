import { Link, Navigate } from '@tanstack/react-router';
import { session } from '../api/client';
import { useT } from '../i18n';

export default function Home() {
  const t = useT();
  if (session.tokens()) return <Navigate to="/stories" />;
  return (
    <section className="hero">
      <h1>{t('Write illustrated stories with AI')}</h1>
      <p>{t('Create characters from a photo, choose an audience, a genre and values, and watch the story arrive paragraph by paragraph.')}</p>
      <p className="actions">
        <Link className="button" to="/signup">
          {t('Sign up')}
        </Link>
        <Link className="button secondary" to="/login" search={{ next: undefined }}>
          {t('Log in')}
        </Link>
      </p>
    </section>
  );
}
