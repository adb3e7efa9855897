/**
 * The whole journey of a new person, in a real browser against `storybang dev` with the bundled
 * model: sign up, verify, log in, a character with a photo, a story that streams in, a Spanish
 * translation, an edit and its undoing, an EPUB, log out. Run at 1280×800 and at 360×740 (touch).
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { codeFor, expectAccessible, PASSWORD, PHOTO, shooter, uniqueEmail } from './helpers';

test('a new person writes, translates and edits a story', async ({ page }, info) => {
  // The bundled model writes on the CPU: on a small, busy machine a short story takes minutes.
  test.setTimeout(900_000);
  const shot = shooter(page, info);
  const email = uniqueEmail(info.project.name);

  // Sign up
  await page.goto('/');
  await page.getByRole('link', { name: 'Sign up' }).first().click();
  await page.getByLabel('Name').fill('Ada');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await shot('sign-up');
  await page.getByRole('button', { name: 'Create account' }).click();

  // Verify with the code from the outbox
  await expect(page.getByRole('heading', { name: 'Verify your email' })).toBeVisible();
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await page.getByLabel('Code').fill(await codeFor(email));
  await shot('verify');
  await page.getByRole('button', { name: 'Verify', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Email verified' })).toBeVisible();

  // Log in: a wrong password is answered on the form
  await page.getByRole('link', { name: 'Log in' }).last().click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: 'Stories' })).toBeVisible();
  await shot('logged-in');

  // A character with a photo
  await page.getByRole('link', { name: 'Characters' }).click();
  await page.getByLabel('Name').fill('Luna');
  await page.getByRole('button', { name: 'Create character' }).click();
  await expect(page.getByRole('heading', { name: 'Luna', level: 1 })).toBeVisible();
  await page.locator('input[type=file]').first().setInputFiles({ name: 'luna.png', mimeType: 'image/png', buffer: PHOTO });
  await expect(page.getByRole('img', { name: 'Photo of Luna' })).toBeVisible();
  await expect(page.locator('img[alt="Photo of Luna"]')).toHaveJSProperty('complete', true);
  await page.getByLabel('Description').fill('A curious girl with a red scarf who loves the moon.');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('Saved.')).toBeVisible();
  await shot('character');

  // A story that appears paragraph by paragraph
  await page.getByRole('link', { name: 'Stories' }).click();
  await page.getByRole('link', { name: 'Write a new story' }).click();
  await page.getByLabel('What is the story about?').fill('Luna visits the moon and makes a friend.');
  await page.getByLabel('Luna').check();
  await page.getByLabel('Genre').fill('adventure');
  await page.getByLabel('Values (comma separated)').fill('friendship, courage');
  // Streamed: a paragraph is on screen while the job is still running, with its Stop button. The
  // bundled model may finish a short story a moment after its first words, sooner than a poll from
  // here would look, so the page itself records every state it renders.
  await page.evaluate(() => {
    const seen = window as unknown as { streamedWhileRunning?: boolean };
    seen.streamedWhileRunning = false;
    new MutationObserver(() => {
      const paragraph = document.querySelector('article.story[aria-busy=true] .paragraph');
      const stop = [...document.querySelectorAll('button')].some((b) => b.textContent?.trim() === 'Stop');
      const running = document.querySelector('.job')?.textContent?.includes('running');
      if (paragraph && stop && running) seen.streamedWhileRunning = true;
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await page.getByRole('button', { name: 'Generate' }).click();
  const firstParagraph = page.locator('article.story .paragraph').first();
  await expect(firstParagraph).toBeVisible({ timeout: 180_000 });
  await expect.poll(() => page.evaluate(() => (window as unknown as { streamedWhileRunning?: boolean }).streamedWhileRunning)).toBe(true);
  await shot('streaming');
  const open = page.getByRole('link', { name: 'Open the story' });
  await expect(open).toBeVisible({ timeout: 600_000 });
  await shot('story-written');
  await open.click();
  await expect(page.locator('article.story h1')).toBeVisible();
  const firstText = (await page.locator('article.story .paragraph').first().textContent())!;
  const englishText = (await page.locator('article.story .paragraph').allTextContents()).join('\n');
  await shot('reader');

  // Translate to Spanish on demand. The whole story is compared: a paragraph of the bundled model
  // may be a name alone, the same in both languages.
  await page.getByLabel('Read in').selectOption('es');
  const spanish = page.locator('article.story[lang=es] .paragraph');
  await expect(spanish.first()).toBeVisible({ timeout: 120_000 });
  await expect.poll(async () => (await spanish.allTextContents()).join('\n')).not.toBe(englishText);
  await shot('spanish');

  // Edit a paragraph in place, then restore the version before the edit
  await page.getByLabel('Read in').selectOption('en');
  // Exact names: a story of ten paragraphs or more also has "Edit paragraph 10".
  await page.getByRole('button', { name: 'Edit paragraph 1', exact: true }).click();
  await page.getByLabel('Paragraph 1', { exact: true }).fill('Luna packed her red scarf and a jar of stars.');
  await shot('editing');
  await page.getByRole('button', { name: 'Save paragraph' }).click();
  await expect(page.locator('article.story .paragraph').first()).toHaveText('Luna packed her red scarf and a jar of stars.');
  await page.getByRole('button', { name: 'Version history' }).click();
  await shot('versions');
  await page.getByRole('button', { name: /^Restore version/ }).first().click();
  await expect(page.locator('article.story .paragraph').first()).toHaveText(firstText);
  await expectAccessible(page, 'the reader');
  await shot('restored');

  // Export EPUB
  const [book] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export EPUB' }).click()]);
  expect(book.suggestedFilename()).toMatch(/\.epub$/);
  const bytes = readFileSync((await book.path())!);
  expect(bytes.subarray(0, 2).toString()).toBe('PK');
  expect(bytes.subarray(30, 58).toString()).toBe('mimetypeapplication/epub+zip');
  // The book is XHTML: quotes, ampersands and angle brackets of the story are written as entities.
  const xhtml = bytes.toString('utf8').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  expect(xhtml).toContain(firstText.slice(0, 40));

  // My jobs shows the finished story and translation
  await page.getByRole('link', { name: 'Jobs' }).click();
  await expect(page.getByRole('cell', { name: 'story' }).first()).toBeVisible();
  await shot('jobs');

  // Log out
  await page.getByRole('link', { name: 'Profile' }).click();
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Log in' })).toBeVisible();
  await page.goto('/stories');
  await expect(page).toHaveURL(/\/login/);
  await shot('logged-out');
});
