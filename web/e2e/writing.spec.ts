/**
 * Writing with the model after the first draft, and the pages for administrators: a paragraph
 * continued by the bundled model as the person wished (streamed, then kept as a new version), the
 * word diff of that version, the PDF export and the print view; failed jobs with their reasons, and
 * a user's usage.
 */
import { expect, test, type APIRequestContext } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { account, expectAccessible, logIn, PASSWORD, shooter, type Account } from './helpers';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** An administrator: an account promoted by `storybang create-admin`, on the dev server's data. */
async function adminAccount(request: APIRequestContext): Promise<Account> {
  const who = await account(request, 'admin');
  const bin = process.env.STORYBANG_BIN ?? join(ROOT, '.venv-dev', 'bin', 'storybang');
  const run = spawnSync(bin, ['create-admin', '--email', who.email, '--password', PASSWORD], {
    cwd: ROOT,
    env: { ...process.env, STORYBANG_ENV: 'dev', STORYBANG_DATA_DIR: process.env.STORYBANG_WEB_DATA! },
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
  const login = await request.post('/api/v1/auth/login', { data: { email: who.email, password: PASSWORD } });
  expect(login.status()).toBe(200);
  return { email: who.email, ...(await login.json()) };
}

test('a paragraph continued by the model as wished shows in the version diff, and the story exports as PDF and prints', async ({ page, request }, info) => {
  // The bundled model writes on the CPU: a paragraph may take minutes on a small, busy machine.
  test.setTimeout(900_000);
  const shot = shooter(page, info);
  const who = await account(request, 'writer');
  const auth = { Authorization: `Bearer ${who.access_token}` };
  const created = await request.post('/api/v1/stories', {
    headers: auth,
    data: {
      title: 'Bruno bakes bread',
      audience: 'children',
      language: 'en',
      character_ids: [],
      paragraphs: [{ text: 'Bruno the bear woke early and tied his apron.' }, { text: 'He mixed flour, water and a pinch of salt.' }],
    },
  });
  const story = await created.json();
  await logIn(page, who);
  await page.goto(`/stories/${story.id}`);
  const paragraphs = page.locator('article.story .paragraph');
  await expect(paragraphs).toHaveCount(2);

  // Asking for a rewrite opens a wish; Escape leaves the paragraph as it is.
  await page.getByRole('button', { name: 'Rewrite paragraph 1' }).click();
  const wish = page.getByLabel('Your wish (optional)');
  await expect(wish).toBeFocused();
  await wish.press('Escape');
  await expect(wish).toBeHidden();
  await expect(page.getByRole('button', { name: 'Rewrite paragraph 1' })).toBeFocused();
  await expect(page.getByRole('button', { name: 'Rewrite paragraph 1' })).toHaveAttribute('aria-expanded', 'false');

  // Continue after the last paragraph, with a wish typed and sent from the keyboard: the job carries
  // it as its prompt; the words appear while the job runs, then the story has three.
  await page.getByRole('button', { name: 'Continue after paragraph 2' }).click();
  await expect(page.getByRole('button', { name: 'Continue after paragraph 2' })).toHaveAttribute('aria-expanded', 'true');
  await expectAccessible(page, 'the reader asking for a wish');
  const queued = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/generations');
  await wish.fill('  the bread smells of honey  ');
  await shot('wish');
  await wish.press('Enter');
  // The job as queued: the wish, trimmed, is its prompt.
  const job = await (await queued).json();
  expect(job).toMatchObject({ task: 'story', input: { story_id: story.id, paragraph: 1, rewrite: 'continue', prompt: 'the bread smells of honey' } });
  await expect(page.locator('.draft')).toContainText('Your wish: the bread smells of honey');
  await expect(page.getByRole('status').filter({ hasText: 'New paragraph after paragraph 2' })).toBeVisible();
  await expect(page.locator('.draft-text')).not.toHaveText('', { timeout: 600_000 });
  await shot('continuing');
  await expect(paragraphs).toHaveCount(3, { timeout: 600_000 });
  const done = await (await request.get(`/api/v1/generations/${job.id}`, { headers: auth })).json();
  expect(done).toMatchObject({ status: 'succeeded', input: { prompt: 'the bread smells of honey' }, result: { rewrite: 'continue', paragraph: 2 } });
  const added = (await paragraphs.nth(2).textContent())!.trim();
  expect(added.length).toBeGreaterThan(0);
  await expect(paragraphs.nth(1)).toHaveText('He mixed flour, water and a pinch of salt.');

  // The version before it, compared word by word with the current text: only additions.
  await page.getByRole('button', { name: 'Version history' }).click();
  await page.getByRole('button', { name: 'Compare version 1' }).click();
  const diff = page.locator('figure.diff');
  await expect(diff.locator('figcaption')).toContainText('0 words removed');
  await expect(diff.locator('ins').first()).toBeVisible();
  expect((await diff.locator('ins').allTextContents()).join(' ')).toContain(added.split(/\s+/)[0]!);
  await expect(diff.locator('del')).toHaveCount(0);
  await shot('version-diff');
  await expectAccessible(page, 'the reader with a version diff');

  // A PDF made by the server.
  const [pdf] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export PDF' }).click()]);
  expect(pdf.suggestedFilename()).toBe('Bruno bakes bread.pdf');
  const bytes = readFileSync((await pdf.path())!);
  expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
  expect(bytes.subarray(-8).toString()).toContain('%%EOF');

  // The print view: the story alone, without the app around it or its buttons.
  await page.emulateMedia({ media: 'print' });
  await expect(page.locator('article.story h1')).toBeVisible();
  await expect(paragraphs.nth(2)).toBeVisible();
  await expect(page.getByRole('button', { name: 'Export PDF' })).toBeHidden();
  await expect(page.getByRole('button', { name: 'Continue after paragraph 1' })).toBeHidden();
  await expect(page.getByRole('link', { name: 'Jobs' })).toBeHidden();
  await shot('print-view');
  await page.emulateMedia({ media: 'screen' });
});

test('an administrator sees failed jobs with their reasons and a user’s usage, in English and Spanish', async ({ page, request }, info) => {
  const shot = shooter(page, info);
  // A job that fails at once, whatever the model: describing a character that has no photo.
  const person = await account(request, 'failing');
  const auth = { Authorization: `Bearer ${person.access_token}` };
  const character = await (await request.post('/api/v1/characters', { headers: auth, data: { name: 'Nobody' } })).json();
  const queued = await request.post('/api/v1/generations', { headers: auth, data: { task: 'describe', input: { character_id: character.id } } });
  expect(queued.status()).toBe(202);
  const job = await queued.json();
  await expect
    .poll(async () => (await (await request.get(`/api/v1/generations/${job.id}`, { headers: auth })).json()).status, { timeout: 300_000 })
    .toBe('failed');

  const admin = await adminAccount(request);
  await logIn(page, admin);
  await page.goto('/admin/users');
  await page.getByRole('link', { name: 'Failed jobs' }).click();
  await expect(page.getByRole('heading', { name: 'Failed jobs' })).toBeVisible();
  const row = page.getByRole('row').filter({ hasText: 'the character has no photo to describe' });
  await expect(row.first()).toBeVisible();
  await expect(row.first()).toContainText('describe');
  // Its log lines, opened under its row: the API's about creating it, the worker's about its failure.
  await row.first().getByRole('button', { name: `Log lines of job ${job.id}` }).click();
  const lines = page.getByRole('list', { name: `Log lines of job ${job.id}` });
  await expect(lines.getByRole('listitem').first()).toContainText('job created');
  await expect(lines.getByRole('listitem').filter({ hasText: 'job failed' })).toContainText('the character has no photo to describe');
  await expectAccessible(page, '/admin/jobs');
  await shot('failed-jobs');
  // Filtered by task: no story failed.
  await page.getByLabel('Task').selectOption('story');
  await expect(row).toHaveCount(0);

  // The failing person's usage, from the users page.
  await page.goto('/admin/users');
  await page.getByLabel('Search users').fill(person.email);
  await expect(page.getByRole('row')).toHaveCount(2);
  await page.getByRole('link', { name: 'Usage of Ada' }).click();
  await expect(page.getByRole('heading', { name: 'Usage of Ada' })).toBeVisible();
  await expect(page.getByText('Jobs in flight')).toBeVisible();
  await expectAccessible(page, 'a user’s usage');
  await shot('usage');

  await page.getByLabel('Interface language').selectOption('es');
  await expect(page.getByRole('heading', { name: 'Consumo de Ada' })).toBeVisible();
  await expectAccessible(page, 'a user’s usage (es)');
  await page.getByRole('link', { name: 'Trabajos fallidos' }).click();
  await expect(page.getByRole('heading', { name: 'Trabajos fallidos' })).toBeVisible();
  await expectAccessible(page, '/admin/jobs (es)');
  await page.getByRole('button', { name: `Líneas de registro del trabajo ${job.id}` }).click();
  await expect(page.getByRole('list', { name: `Líneas de registro del trabajo ${job.id}` })).toContainText('job failed');
});
