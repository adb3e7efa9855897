/**
 * The live connection to the notifier (Socket.IO at /socket.io). Events are dispatched to
 * listeners once each, in order; a reconnect sends ``last_event_id`` so the notifier replays what
 * was missed. The notifier closes a socket when its access token expires: reconnect with a fresh
 * one.
 */
import { io, type Socket } from 'socket.io-client';
import { session } from '../api/client';
import { EventCursor, type StoryBangEvent } from './replay';

export const EVENT_NAMES = [
  'generation.queued',
  'generation.started',
  'generation.progress',
  'generation.completed',
  'generation.failed',
  'generation.cancelled',
  'character.updated',
  'story.updated',
  'events.resync',
] as const;
export type EventName = (typeof EVENT_NAMES)[number];
type Handler = (event: StoryBangEvent, name: EventName) => void;

const handlers = new Set<Handler>();
const cursor = new EventCursor();
let socket: Socket | null = null;
export const connection = { connected: false, listeners: new Set<(up: boolean) => void>() };

function setConnected(up: boolean) {
  connection.connected = up;
  for (const l of connection.listeners) l(up);
}

export function onEvent(handler: Handler): () => void {
  handlers.add(handler);
  return () => handlers.delete(handler);
}

export function connect(): void {
  if (socket) return;
  socket = io({
    path: '/socket.io',
    // The notifier may run as several replicas: each long-poll could reach another one, so it takes
    // WebSockets only (one connection, one replica) and refuses polling.
    transports: ['websocket'],
    auth: (cb) => {
      void session.accessToken().then((token) => cb(cursor.last ? { token, last_event_id: cursor.last } : { token }));
    },
  });
  socket.on('connect', () => setConnected(true));
  socket.on('disconnect', (reason) => {
    setConnected(false);
    // The server closed it (an expired token): Socket.IO leaves that to the app to retry.
    if (reason === 'io server disconnect') setTimeout(() => socket?.connect(), 500);
  });
  socket.on('connect_error', () => setConnected(false));
  for (const name of EVENT_NAMES) {
    socket.on(name, (event: StoryBangEvent) => {
      if (event.event_id && !cursor.accept(event.event_id)) return;
      for (const h of handlers) h(event, name);
    });
  }
}

export function disconnect(): void {
  socket?.disconnect();
  socket = null;
  cursor.last = null;
  setConnected(false);
}
