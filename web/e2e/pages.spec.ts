/**
 * Every page passes axe (no serious or critical WCAG 2.1 A/AA violation), in English and Spanish;
 * sessions hold across tabs; the app shell opens offline; an edit made elsewhere shows up live;
 * pictures load from signed URLs.
 */
import { expect, test, type Request as PlaywrightRequest } from '@playwright/test';
import { account, expectAccessible, logIn, PASSWORD, PHOTO, shooter } from './helpers';

const PUBLIC_PAGES = ['/', '/login', '/signup', '/verify', '/forgot', '/reset'];

test('public pages are accessible', async ({ page }) => {
  for (const path of PUBLIC_PAGES) {
    await page.goto(path);
    await expect(page.locator('main h1')).toBeVisible();
    await expectAccessible(page, path);
  }
});

test('pages of a logged-in person are accessible, in English and in Spanish', async ({ page, request }, info) => {
  const shot = shooter(page, info);
  const who = await account(request, 'axe');
  const auth = { Authorization: `Bearer ${who.access_token}` };
  const character = await (await request.post('/api/v1/characters', { headers: auth, data: { name: 'Bruno', description: 'A bear who bakes.' } })).json();
  const story = await (
    await request.post('/api/v1/stories', {
      headers: auth,
      data: { title: 'Bruno bakes bread', audience: 'children', character_ids: [character.id], paragraphs: [{ text: 'Bruno woke early.' }, { text: 'The bread rose.' }] },
    })
  ).json();
  await logIn(page, who);
  const pages = ['/stories', '/stories/new', `/stories/${story.id}`, '/characters', `/characters/${character.id}`, '/jobs', '/profile', '/admin/users'];
  // The language follows the browser (en-GB here) and is switched from the header.
  await page.goto('/stories');
  await expect(page.getByRole('heading', { name: 'Stories' })).toBeVisible();
  await page.getByLabel('Interface language').selectOption('es');
  await expect(page.getByRole('heading', { name: 'Historias' })).toBeVisible();
  for (const lang of ['en', 'es']) {
    await page.evaluate((l) => localStorage.setItem('storybang.lang', l), lang);
    for (const path of pages) {
      await page.goto(path);
      await expect(page.locator('main h1, main p').first()).toBeVisible();
      await page.waitForLoadState('networkidle');
      await expectAccessible(page, `${path} (${lang})`);
      // Nothing reaches past the right edge, where a phone would hide it (wide tables scroll in their own box).
      expect(await page.evaluate(() => document.documentElement.scrollWidth), `${path} (${lang}) fits the width`).toBeLessThanOrEqual(page.viewportSize()!.width);
    }
    await shot(`last-page-${lang}`);
  }
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');
  await expect(page.getByText('Solo los administradores ven esta página.')).toBeVisible();
});

test('every control can be reached and used from the keyboard', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Skip to content' })).toBeFocused();
  await page.keyboard.press('Enter');
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    await page.keyboard.press('Tab');
    seen.push(await page.evaluate(() => document.activeElement?.getAttribute('name') ?? document.activeElement?.textContent ?? ''));
  }
  expect(seen).toContain('email');
  expect(seen).toContain('password');
  // Focus is visible: the focused control draws an outline.
  await page.getByLabel('Email').focus();
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  const outline = await page.getByLabel('Email').evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe('none');
});

test('two tabs refreshing an expired token at once both stay logged in', async ({ context, request }) => {
  const who = await account(request, 'tabs');
  const a = await context.newPage();
  await logIn(a, who, 0); // the access token has expired: the first request refreshes
  const b = await context.newPage();
  await Promise.all([a.goto('/stories'), b.goto('/stories')]);
  for (const p of [a, b]) await expect(p.getByRole('heading', { name: 'Stories' })).toBeVisible();
  // Rotated exactly once and still valid: reloading both keeps them in. The heading can show before
  // the first request's refresh has ended, so the rotation is waited for.
  const session = () => a.evaluate(() => JSON.parse(localStorage.getItem('storybang.session')!));
  await expect.poll(async () => (await session()).refresh).not.toBe(who.refresh_token);
  const stored = await session();
  await Promise.all([a.reload(), b.reload()]);
  for (const p of [a, b]) {
    await expect(p.getByRole('heading', { name: 'Stories' })).toBeVisible();
    await expect(p).toHaveURL(/\/stories$/);
  }
  const refreshed = await request.post('/api/v1/auth/refresh', { data: { refresh_token: stored.refresh } });
  expect(refreshed.status()).toBe(200);
});

test('an edit made elsewhere appears live in an open reader', async ({ page, request }) => {
  const who = await account(request, 'live');
  const auth = { Authorization: `Bearer ${who.access_token}` };
  const story = await (
    await request.post('/api/v1/stories', { headers: auth, data: { title: 'Two devices', audience: 'general', character_ids: [], paragraphs: [{ text: 'Before.' }] } })
  ).json();
  await logIn(page, who);
  await page.goto(`/stories/${story.id}`);
  await expect(page.locator('article.story .paragraph')).toHaveText('Before.');
  await expect(page.getByText('Connecting to live updates…')).toBeHidden();
  const r = await request.patch(`/api/v1/stories/${story.id}`, { headers: auth, data: { paragraphs: [{ text: 'After, from the phone.' }] } });
  expect(r.status()).toBe(200);
  await expect(page.locator('article.story .paragraph')).toHaveText('After, from the phone.');
});

test('the app shell opens offline', async ({ page, context }) => {
  await page.goto('/login');
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  // Controlled from the next load on.
  await page.reload();
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'You are offline' })).toBeVisible();
  await context.setOffline(false);
});

test('logging out everywhere ends the sessions of other devices', async ({ page, request }) => {
  const who = await account(request, 'everywhere');
  const phone = await (await request.post('/api/v1/auth/login', { data: { email: who.email, password: PASSWORD } })).json();
  await logIn(page, who);
  await page.goto('/profile');
  await page.getByRole('button', { name: 'Log out everywhere' }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  const r = await request.post('/api/v1/auth/refresh', { data: { refresh_token: phone.refresh_token } });
  expect(r.status()).toBe(401);
});

test('an edit over a version changed elsewhere shows the conflict instead of overwriting it', async ({ page, request }) => {
  const who = await account(request, 'conflict');
  const auth = { Authorization: `Bearer ${who.access_token}` };
  const story = await (
    await request.post('/api/v1/stories', { headers: auth, data: { title: 'Two writers', audience: 'general', character_ids: [], paragraphs: [{ text: 'First draft.' }] } })
  ).json();
  await logIn(page, who);
  await page.goto(`/stories/${story.id}`);
  await page.getByRole('button', { name: 'Edit paragraph 1' }).click();
  await page.getByLabel('Paragraph 1').fill('The laptop version.');
  const r = await request.patch(`/api/v1/stories/${story.id}`, { headers: auth, data: { paragraphs: [{ text: 'The phone version.' }] } });
  expect(r.status()).toBe(200);
  await page.getByRole('button', { name: 'Save paragraph' }).click();
  await expect(page.getByRole('alert')).toContainText('Someone changed this story meanwhile');
  await page.getByRole('button', { name: 'Reload' }).click();
  await expect(page.locator('article.story .paragraph')).toHaveText('The phone version.');
});

test('a character edit over a version changed elsewhere shows the conflict instead of overwriting it', async ({ page, request }) => {
  const who = await account(request, 'character-conflict');
  const auth = { Authorization: `Bearer ${who.access_token}` };
  const character = await (await request.post('/api/v1/characters', { headers: auth, data: { name: 'Bruno', description: 'First draft.' } })).json();
  await logIn(page, who);
  await page.goto(`/characters/${character.id}`);
  const description = page.getByLabel('Description', { exact: true });
  await description.fill('The laptop version.');
  const r = await request.patch(`/api/v1/characters/${character.id}`, { headers: auth, data: { description: 'The phone version.' } });
  expect(r.status()).toBe(200);
  // The phone's change arrives live, but what is being typed stays as typed until it is saved.
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Someone changed this character meanwhile' })).toBeVisible();
  await expect(description).toHaveValue('The laptop version.');
  await page.getByRole('button', { name: 'Reload' }).click();
  await expect(description).toHaveValue('The phone version.');
  const kept = await (await request.get(`/api/v1/characters/${character.id}`, { headers: auth })).json();
  expect(kept.description).toBe('The phone version.');
});

test('pictures load from signed URLs, with no token sent or written in them', async ({ page, request }) => {
  const who = await account(request, 'pictures');
  const auth = { Authorization: `Bearer ${who.access_token}` };
  const character = await (await request.post('/api/v1/characters', { headers: auth, data: { name: 'Luna' } })).json();
  const upload = await request.put(`/api/v1/characters/${character.id}/photo`, {
    headers: auth,
    multipart: { file: { name: 'luna.png', mimeType: 'image/png', buffer: PHOTO } },
  });
  expect(upload.status()).toBe(200);
  const photoId: string = (await upload.json()).photo_id;
  const loads: PlaywrightRequest[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/images/')) loads.push(r);
  });
  await logIn(page, who);
  for (const [path, picture] of [
    [`/characters/${character.id}`, page.locator('img[alt="Photo of Luna"]')],
    ['/characters', page.locator('img.thumb').first()],
  ] as const) {
    await page.goto(path);
    await expect(picture).toBeVisible();
    await expect.poll(() => picture.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(96);
  }
  expect(loads.length).toBeGreaterThan(0);
  for (const r of loads) {
    expect(r.url()).toContain(`/api/v1/characters/images/${photoId}?`);
    expect(r.url()).toContain('signature=');
    expect(r.url()).not.toContain(who.access_token);
    expect(await r.headerValue('authorization')).toBeNull();
  }
});
