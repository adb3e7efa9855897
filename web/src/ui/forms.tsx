/** Form controls with their label, and the API's error for that field right beside them. */
import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react';
import { ApiError } from '../api/client';
import { useT } from '../i18n';

type Common = { label: string; error?: string | undefined; hint?: string };

function Wrap({ id, label, error, hint, children }: Common & { id: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && <small id={`${id}-hint`}>{hint}</small>}
      {error && (
        <small id={`${id}-error`} className="error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

function described(id: string, error?: string, hint?: string) {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { 'aria-invalid': error ? true : undefined, 'aria-describedby': ids || undefined };
}

export function Input({ label, error, hint, ...props }: Common & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <Wrap id={id} label={label} error={error} hint={hint}>
      <input id={id} {...described(id, error, hint)} {...props} />
    </Wrap>
  );
}

export function TextArea({ label, error, hint, ...props }: Common & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const id = useId();
  return (
    <Wrap id={id} label={label} error={error} hint={hint}>
      <textarea id={id} {...described(id, error, hint)} {...props} />
    </Wrap>
  );
}

export function Select({ label, error, hint, children, ...props }: Common & SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId();
  return (
    <Wrap id={id} label={label} error={error} hint={hint}>
      <select id={id} {...described(id, error, hint)} {...props}>
        {children}
      </select>
    </Wrap>
  );
}

/** The message of an error that belongs to no single field (or to none shown on the form). */
export function FormError({ error, shown = [] }: { error: unknown; shown?: string[] }) {
  const t = useT();
  if (!error) return null;
  if (error instanceof ApiError) {
    const fields = Object.keys(error.fields);
    if (fields.length > 0 && fields.every((f) => shown.includes(f))) return null;
    return (
      <p className="error" role="alert">
        {error.problem.detail || error.problem.title}
      </p>
    );
  }
  return (
    <p className="error" role="alert">
      {error instanceof Error ? error.message : t('Something went wrong.')}
    </p>
  );
}

/** A write refused because the resource changed since it was read (412 on a stale If-Match). */
export function isConflict(error: unknown): boolean {
  return error instanceof ApiError && error.problem.status === 412;
}

/** Says that someone else changed what is being edited, and offers their version instead. */
export function Conflict({ message, onReload }: { message: string; onReload: () => void }) {
  const t = useT();
  return (
    <p className="error" role="alert">
      {message}{' '}
      <button type="button" className="secondary" onClick={onReload}>
        {t('Reload')}
      </button>
    </p>
  );
}

/** The API's message for one field of a failed request. */
export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError ? error.fields[field] : undefined;
}

export function Progress({ value, label }: { value: number | null; label: string }) {
  return (
    <div className="progress-wrap">
      <progress aria-label={label} max={1} value={value ?? undefined} />
    </div>
  );
}
