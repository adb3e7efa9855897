/** Pictures behind the API's authentication, and a drop zone for files. */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useId, useState, type ReactNode } from 'react';
import { fetchBlob } from '../api/client';
import { useT } from '../i18n';

/** An image at an API path: fetched with the access token (an <img> cannot send one). */
export function ApiImage({ path, alt, className }: { path: string; alt: string; className?: string }) {
  const blob = useQuery({ queryKey: ['blob', path], queryFn: () => fetchBlob(path), staleTime: Infinity, retry: false });
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!blob.data) return;
    const u = URL.createObjectURL(blob.data);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [blob.data]);
  if (!url) return <div className={`placeholder ${className ?? ''}`} role="img" aria-label={alt} />;
  return <img src={url} alt={alt} className={className} loading="lazy" />;
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
