/// <reference lib="webworker" />
/**
 * The service worker: the app shell precached so the app opens offline (every built file, with
 * index.html answering navigations except the server's own paths), and Web Push: the end of a job
 * shown as a notification when no window of the app is visible, a click on it opening its page.
 */
import { clientsClaim } from 'workbox-core';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { parse, shouldShow, wording } from './push/notification';
import { SERVER_PATHS } from './serverPaths';

declare const self: ServiceWorkerGlobalScope;

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(new NavigationRoute(createHandlerBoundToURL('/index.html'), { denylist: SERVER_PATHS }));
// A new version takes over at once (the app reloads itself: registerType "autoUpdate").
void self.skipWaiting();
clientsClaim();

async function notify(data: unknown): Promise<void> {
  const message = parse(data);
  if (!message) return;
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  if (!shouldShow(windows)) return;
  const { title, body } = wording(message, self.navigator.language);
  // One notification per job (its tag): a repeated push replaces it instead of adding another.
  await self.registration.showNotification(title, { body, tag: message.tag, icon: '/icon-192.png', data: { url: message.url } });
}

self.addEventListener('push', (event) => {
  let data: unknown = null;
  try {
    data = event.data?.json();
  } catch {
    return; // not JSON: not ours
  }
  event.waitUntil(notify(data));
});

async function open(path: string): Promise<void> {
  const url = new URL(path, self.location.origin).href;
  // A window this worker controls can be sent to the page; any other way, a new one opens.
  const [existing] = await self.clients.matchAll({ type: 'window' });
  if (existing) {
    try {
      await (await existing.focus()).navigate(url);
      return;
    } catch {
      // focus or navigate refused (the window went away meanwhile): open one instead
    }
  }
  await self.clients.openWindow(url);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const path = (event.notification.data as { url?: unknown } | null)?.url;
  event.waitUntil(open(typeof path === 'string' && path.startsWith('/') && !path.startsWith('//') ? path : '/jobs'));
});
