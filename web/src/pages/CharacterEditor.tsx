import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { getRouteApi, useNavigate } from '@tanstack/react-router';
import { api, asIs, fetchBlob, ok, type Character } from '../api/client';
import { useT } from '../i18n';
import { Conflict, fieldError, FormError, Input, isConflict, TextArea } from '../ui/forms';
import { JobStatus, useGeneration } from '../ui/jobs';
import { download, DropZone, SignedImage } from '../ui/media';

const route = getRouteApi('/characters/$id');

export default function CharacterEditor() {
  const t = useT();
  const { id } = route.useParams();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const character = useQuery({
    queryKey: ['character', id],
    queryFn: async () => ok(await api.GET('/api/v1/characters/{character_id}', { params: { path: { character_id: id } } })),
  });
  const set = (c: Character) => {
    queryClient.setQueryData(['character', id], c);
    void queryClient.invalidateQueries({ queryKey: ['characters'] });
  };
  // Every write names the revision it was made on (If-Match): one made on a version that another
  // tab or device has changed since is refused (412) and shown, never silently written over it.
  // While the details are being edited they stay as typed, and are saved over the revision the
  // editing began on; otherwise the form follows the live character.
  const [editingFrom, setEditingFrom] = useState<number | null>(null);
  const params = (revision: number) => ({ path: { character_id: id }, header: { 'if-match': `"${revision}"` } });
  const save = useMutation({
    mutationFn: async ({ body, revision }: { body: { name: string; description: string; tags: string[] }; revision: number }) =>
      ok(await api.PATCH('/api/v1/characters/{character_id}', { params: params(revision), body })),
    onSuccess: (c) => {
      setEditingFrom(null);
      set(c);
    },
  });
  const photo = useMutation({
    mutationFn: async ({ file, revision }: { file: File; revision: number }) => {
      const form = new FormData();
      form.append('file', file);
      return ok(await api.PUT('/api/v1/characters/{character_id}/photo', { params: params(revision), body: form as never, bodySerializer: asIs }));
    },
    onSuccess: set,
  });
  const remove = useMutation({
    mutationFn: async (revision: number) => ok(await api.DELETE('/api/v1/characters/{character_id}', { params: params(revision) })),
    onSuccess: () => navigate({ to: '/characters' }),
  });
  const refetch = () => void character.refetch();
  const reload = () => {
    for (const m of [save, photo, remove]) m.reset();
    setEditingFrom(null);
    refetch();
  };
  const conflict = [save, photo, remove].some((m) => isConflict(m.error));
  const describe = useGeneration(refetch);
  const portrait = useGeneration(refetch);
  const exportCard = useMutation({
    mutationFn: async (format: 'png' | 'json') => {
      const name = character.data?.name ?? 'character';
      download(await fetchBlob(`/api/v1/characters/${id}/card?format=${format}`), `${name}.${format}`);
    },
  });

  if (character.isPending) return <p role="status">{t('Loading…')}</p>;
  if (character.isError) return <FormError error={character.error} />;
  const c = character.data;
  return (
    <section>
      <h1>{c.name}</h1>
      {conflict && <Conflict message={t('Someone changed this character meanwhile. Reload it to see their version before editing again.')} onReload={reload} />}
      <div className="grid two">
        <div className="card">
          <h2>{t('Photo')}</h2>
          {c.photo_id && <SignedImage url={c.photo_url} alt={t('Photo of {name}', { name: c.name })} className="portrait" onExpired={refetch} />}
          <DropZone label={t('Choose a photo')} accept="image/*" busy={photo.isPending} onFile={(file) => photo.mutate({ file, revision: c.revision })} />
          <DropZone label={t('Take a photo')} accept="image/*" capture="user" busy={photo.isPending} onFile={(file) => photo.mutate({ file, revision: c.revision })} />
          <FormError error={photo.error} shown={['If-Match']} />
          {c.photo_description && (
            <p>
              <strong>{t('What the photo shows')}:</strong> {c.photo_description}
            </p>
          )}
          <button type="button" className="secondary" disabled={!c.photo_id || describe.start.isPending} onClick={() => describe.start.mutate({ task: 'describe', input: { character_id: id } })}>
            {t('Describe my photo')}
          </button>
          <FormError error={describe.start.error} />
          <JobStatus job={describe.job} label={t('Description')} />
          <h2>{t('Portrait')}</h2>
          {c.portrait_id && <SignedImage url={c.portrait_url} alt={t('Portrait of {name}', { name: c.name })} className="portrait" onExpired={refetch} />}
          <button type="button" className="secondary" disabled={portrait.start.isPending} onClick={() => portrait.start.mutate({ task: 'image', input: { character_id: id } })}>
            {t('Draw a portrait')}
          </button>
          <FormError error={portrait.start.error} />
          <JobStatus job={portrait.job} label={t('Portrait')} />
        </div>
        <form
          className="card"
          key={editingFrom ?? c.revision}
          onChange={() => setEditingFrom((from) => from ?? c.revision)}
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            save.mutate({
              body: {
                name: String(f.get('name')),
                description: String(f.get('description')),
                tags: String(f.get('tags')).split(',').map((s) => s.trim()).filter(Boolean),
              },
              revision: editingFrom ?? c.revision,
            });
          }}
        >
          <h2>{t('Details')}</h2>
          <Input label={t('Name')} name="name" defaultValue={c.name} required maxLength={100} error={fieldError(save.error, 'name')} />
          <TextArea label={t('Description')} name="description" defaultValue={c.description} rows={6} maxLength={5000} error={fieldError(save.error, 'description')} />
          <Input label={t('Tags (comma separated)')} name="tags" defaultValue={c.tags.join(', ')} error={fieldError(save.error, 'tags')} />
          <FormError error={save.error} shown={['name', 'description', 'tags', 'If-Match']} />
          {save.isSuccess && <p role="status">{t('Saved.')}</p>}
          <button type="submit" disabled={save.isPending}>
            {t('Save')}
          </button>
          <h2>{t('Character Card')}</h2>
          <p className="actions">
            <button type="button" className="secondary" onClick={() => exportCard.mutate('png')}>
              {t('Export PNG card')}
            </button>
            <button type="button" className="secondary" onClick={() => exportCard.mutate('json')}>
              {t('Export JSON card')}
            </button>
          </p>
          <FormError error={exportCard.error} />
          <p>
            <button
              type="button"
              className="danger"
              onClick={() => {
                if (window.confirm(t('Delete {name}?', { name: c.name }))) remove.mutate(c.revision);
              }}
            >
              {t('Delete character')}
            </button>
          </p>
        </form>
      </div>
    </section>
  );
}
