/** Pictures at the signed URLs of API answers, and a drop zone for files. */
import { useId, useState, type ReactNode } from 'react';
import { isExpired } from '../api/images';
import { useT } from '../i18n';

/**
 * An image at a signed URL from an API answer: a plain <img>, so the browser caches it and loads it
 * lazily (no token needed: the URL carries its own short-lived proof). When it fails to load
 * because the URL has expired (a page left open for an hour), ``onExpired`` fetches the resource
 * again, which brings a fresh URL; any other failure leaves the placeholder.
 */
export function SignedImage({
  url,
  alt,
  className,
  onExpired,
}: {
  url: string | null | undefined;
  alt: string;
  className?: string;
  onExpired?: () => void;
}) {
  const [failed, setFailed] = useState<string | null>(null);
  if (!url || failed === url) return <div className={`placeholder ${className ?? ''}`} role="img" aria-label={alt} />;
  return (
    <img
      src={url}
      alt={alt}
      className={className}
      loading="lazy"
      onError={() => {
        setFailed(url);
        if (isExpired(url)) onExpired?.();
      }}
    />
  );
}

/** A file input that also takes files dropped on it; ``capture`` opens the camera on phones. */
export function DropZone({
  label,
  accept,
  onFile,
  busy,
  children,
  capture,
}: {
  label: string;
  accept: string;
  onFile: (file: File) => void;
  busy?: boolean;
  children?: ReactNode;
  capture?: 'user' | 'environment';
}) {
  const t = useT();
  const id = useId();
  const [over, setOver] = useState(false);
  return (
    <div
      className={`dropzone${over ? ' over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const file = e.dataTransfer.files[0];
        if (file) onFile(file);
      }}
    >
      {children}
      <label htmlFor={id} className="button secondary">
        {busy ? t('Uploading…') : label}
      </label>
      <input
        id={id}
        className="visually-hidden"
        type="file"
        accept={accept}
        disabled={busy}
        {...(capture ? { capture } : {})}
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) onFile(file);
          e.target.value = '';
        }}
      />
      <small>{t('or drop a file here')}</small>
    </div>
  );
}

export function download(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
