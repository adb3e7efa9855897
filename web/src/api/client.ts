/**
 * The one HTTP client of the app: openapi-fetch over the types generated from StoryBang's OpenAPI
 * document (src/api/schema.d.ts, made by `make web`). It adds the access token, refreshes it
 * before it expires and once more when a request is refused with 401.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import { localLocks, Session, type TokenPair } from '../auth/session';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type User = Schemas['UserPublic'];
export type Character = Schemas['CharacterPublic'];
export type Story = Schemas['StoryPublic'];
export type StorySummary = Schemas['StorySummary'];
export type Job = Schemas['GenerationPublic'];

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem as StoryBang answers it. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

export class ApiError extends Error {
  constructor(public readonly problem: Problem) {
    super(problem.detail || problem.title);
  }

  /** Messages by field name, for showing each one next to its control. */
  get fields(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.problem.errors ?? []) if (e.field && !(e.field in out)) out[e.field] = e.message;
    return out;
  }
}

// A bare client for the refresh itself: it must not go through the middleware that refreshes.
const bare = createClient<paths>();

async function refreshWith(refreshToken: string): Promise<TokenPair | null> {
  const { data, response } = await bare.POST('/api/v1/auth/refresh', { body: { refresh_token: refreshToken } });
  if (data) return data;
  if (response.status === 401) return null;
  throw new Error(`refresh failed: ${response.status}`);
}

export const session = new Session(
  window.localStorage,
  'locks' in navigator ? navigator.locks : localLocks(),
  'BroadcastChannel' in window ? new BroadcastChannel('storybang.session') : null,
  refreshWith,
);

const NO_TOKEN = new Set(['/api/v1/auth/login', '/api/v1/auth/register', '/api/v1/auth/refresh']);
const retries = new WeakMap<Request, Request>();

const auth: Middleware = {
  async onRequest({ request, schemaPath }) {
    if (NO_TOKEN.has(schemaPath)) return request;
    const token = await session.accessToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    retries.set(request, request.clone());
    return request;
  },
  async onResponse({ request, response }) {
    const again = retries.get(request);
    const sent = request.headers.get('Authorization')?.slice('Bearer '.length);
    if (response.status !== 401 || !again || !sent) return response;
    const tokens = await session.refresh(sent);
    if (!tokens) return response;
    again.headers.set('Authorization', `Bearer ${tokens.access}`);
    return fetch(again);
  },
};

export const api = createClient<paths>();
api.use(auth);

/** The data of an openapi-fetch result, or an ApiError carrying the problem. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) throw toError(result.error, result.response);
  return result.data as T;
}

export function toError(body: unknown, response: Response): ApiError {
  if (body && typeof body === 'object' && 'status' in body) return new ApiError(body as Problem);
  return new ApiError({ title: response.statusText || 'Error', status: response.status, detail: response.statusText || `HTTP ${response.status}` });
}

/** Fetch a protected binary (an image, a card) with the access token; used for blobs only. */
export async function fetchBlob(path: string): Promise<Blob> {
  const token = await session.accessToken();
  const response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!response.ok) throw toError(await response.json().catch(() => null), response);
  return response.blob();
}

/** openapi-fetch sends FormData and Blobs as they are with this serializer. */
export const asIs = (body: unknown) => body as BodyInit;
