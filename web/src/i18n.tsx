/**
 * English and Spanish. The English text is the key: a missing Spanish entry shows English instead of
 * a blank. The language follows the browser until the person picks one (kept in localStorage).
 */
import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';
import { es } from './i18n.es';

export type Lang = 'en' | 'es';
export const LANGS: Record<Lang, string> = { en: 'English', es: 'Español' };
const KEY = 'storybang.lang';

function initial(): Lang {
  const saved = localStorage.getItem(KEY);
  if (saved === 'en' || saved === 'es') return saved;
  return navigator.language.toLowerCase().startsWith('es') ? 'es' : 'en';
}

export type T = (text: string, values?: Record<string, string | number>) => string;

function translate(lang: Lang): T {
  return (text, values) => {
    let out = lang === 'es' ? (es[text] ?? text) : text;
    for (const [k, v] of Object.entries(values ?? {})) out = out.replaceAll(`{${k}}`, String(v));
    return out;
  };
}

const Context = createContext<{ lang: Lang; setLang: (l: Lang) => void; t: T }>({
  lang: 'en',
  setLang: () => undefined,
  t: translate('en'),
});

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initial);
  const value = useMemo(() => {
    document.documentElement.lang = lang;
    return {
      lang,
      t: translate(lang),
      setLang: (l: Lang) => {
        localStorage.setItem(KEY, l);
        setLangState(l);
      },
    };
  }, [lang]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export const useI18n = () => useContext(Context);
export const useT = () => useContext(Context).t;
