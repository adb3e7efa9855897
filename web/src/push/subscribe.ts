/**
 * This browser's Web Push subscription: asked for only when the person clicks, made with the
 * server's key, and handed to the server (which then notifies it when one of their jobs ends).
 */
import { api, ok } from '../api/client';

export type PushState = 'unsupported' | 'denied' | 'off' | 'on';

function supported(): boolean {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/** The service worker's registration; none in `npm run dev`, where no service worker runs. */
async function registration(): Promise<ServiceWorkerRegistration | undefined> {
  return supported() ? navigator.serviceWorker.getRegistration() : undefined;
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function sameKey(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const bytes = new Uint8Array(a);
  return bytes.every((v, i) => v === b[i]);
}

export async function pushState(): Promise<PushState> {
  const reg = await registration();
  if (!reg) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  const subscription = await reg.pushManager.getSubscription();
  return subscription && Notification.permission === 'granted' ? 'on' : 'off';
}

/** Ask for permission (call it from a click: browsers refuse to ask otherwise), subscribe, tell the server. */
export async function enablePush(): Promise<PushState> {
  const reg = await registration();
  if (!reg) return 'unsupported';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return permission === 'denied' ? 'denied' : 'off';
  const key = fromBase64Url(ok(await api.GET('/api/v1/push/key')).application_server_key);
  let subscription = await reg.pushManager.getSubscription();
  // Made with another key (the server's changed): push services would refuse our pushes to it.
  if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  const { endpoint, keys } = subscription.toJSON();
  if (!endpoint || !keys?.p256dh || !keys.auth) throw new Error('The browser gave an incomplete push subscription.');
  ok(await api.POST('/api/v1/push/subscriptions', { body: { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } } }));
  return 'on';
}

export async function disablePush(): Promise<PushState> {
  const subscription = await (await registration())?.pushManager.getSubscription();
  if (subscription) {
    ok(await api.DELETE('/api/v1/push/subscriptions', { body: { endpoint: subscription.endpoint } }));
    await subscription.unsubscribe();
  }
  return 'off';
}
