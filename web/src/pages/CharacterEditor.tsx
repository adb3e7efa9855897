import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { getRouteApi, useNavigate } from '@tanstack/react-router';
import { api, asIs, fetchBlob, ok, type Character } from '../api/client';
import { useT } from '../i18n';
import { fieldError, FormError, Input, TextArea } from '../ui/forms';
import { JobStatus, useGeneration } from '../ui/jobs';
import { ApiImage, download, DropZone } from '../ui/media';

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
    void queryClient.invalidateQueries({ queryKey: ['blob'] });
  };
  const save = useMutation({
    mutationFn: async (body: { name: string; description: string; tags: string[] }) =>
      ok(await api.PATCH('/api/v1/characters/{character_id}', { params: { path: { character_id: id } }, body })),
    onSuccess: set,
  });
  const photo = useMutation({
    mutationFn: async (file: File) => {
      const form = new FormData();
      form.append('file', file);
      return ok(await api.PUT('/api/v1/characters/{character_id}/photo', { params: { path: { character_id: id } }, body: form as never, bodySerializer: asIs }));
    },
    onSuccess: set,
  });
  const remove = useMutation({
    mutationFn: async () => ok(await api.DELETE('/api/v1/characters/{character_id}', { params: { path: { character_id: id } } })),
    onSuccess: () => navigate({ to: '/characters' }),
  });
  const refetch = () => void character.refetch().then(() => queryClient.invalidateQueries({ queryKey: ['blob'] }));
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
      <div className="grid two">
        <div className="card">
          <h2>{t('Photo')}</h2>
          {c.photo_id && <ApiImage path={`/api/v1/characters/${id}/photo?v=${c.photo_id}`} alt={t('Photo of {name}', { name: c.name })} className="portrait" />}
          <DropZone label={t('Choose a photo')} accept="image/*" busy={photo.isPending} onFile={(f) => photo.mutate(f)} />
          <DropZone label={t('Take a photo')} accept="image/*" capture="user" busy={photo.isPending} onFile={(f) => photo.mutate(f)} />
          <FormError error={photo.error} />
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
          {c.portrait_id && <ApiImage path={`/api/v1/characters/${id}/portrait?v=${c.portrait_id}`} alt={t('Portrait of {name}', { name: c.name })} className="portrait" />}
          <button type="button" className="secondary" disabled={portrait.start.isPending} onClick={() => portrait.start.mutate({ task: 'image', input: { character_id: id } })}>
            {t('Draw a portrait')}
          </button>
          <FormError error={portrait.start.error} />
          <JobStatus job={portrait.job} label={t('Portrait')} />
        </div>
        <form
          className="card"
          key={c.updated_at}
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            save.mutate({
              name: String(f.get('name')),
              description: String(f.get('description')),
              tags: String(f.get('tags')).split(',').map((s) => s.trim()).filter(Boolean),
            });
          }}
        >
          <h2>{t('Details')}</h2>
          <Input label={t('Name')} name="name" defaultValue={c.name} required maxLength={100} error={fieldError(save.error, 'name')} />
          <TextArea label={t('Description')} name="description" defaultValue={c.description} rows={6} maxLength={5000} error={fieldError(save.error, 'description')} />
          <Input label={t('Tags (comma separated)')} name="tags" defaultValue={c.tags.join(', ')} error={fieldError(save.error, 'tags')} />
          <FormError error={save.error} shown={['name', 'description', 'tags']} />
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
                if (window.confirm(t('Delete {name}?', { name: c.name }))) remove.mutate();
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
