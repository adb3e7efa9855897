/** What the browser tests share: accounts, the dev outbox, screenshots, axe. */
import AxeBuilder from '@axe-core/playwright';
import { expect, type APIRequestContext, type Page, type TestInfo } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PASSWORD = 'a story about a brave fox';
export const PHOTO = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAGAAAABgCAIAAABt+uBvAAACEElEQVR4nO2cMU4DMRBFN4jjcCM6KkTPKRAtoqLLTTgCJ+EEFCshK2HzovXM2EjvdRB5PX754zVR2MP35+si29yMLmB2FAQoCFAQoCBAQYCCAAUBCgIUBCgIUBCgIEBBgIKA29EFLMuyvL99bL30+PRQWck5h1EfmF2QssUQWQME7VDTUqypVFCnmpYyTUWCAtW0FGiquIsl2Um98i/pgrLXkH39xBYreHtbktotK0HFdvJm9CQNpAiqj0/evPGCRtlJmj1Y0Fg7GTVECprBzkpgJW7SQJigeeKzElWPCQJiBM0Wn5WQqkwQECBozvis9NdW/Zn08/Gr/fHl/i5vVAilLXayzj9/EzUqil5B12d4a1WXV7tvVEtnlxUlKMNCTY68iwEKAhQEdAma+QTU0lNnUYIun1y2Xt03Kpa6Fou1UHZWLN2Dzld1zTr3jYqi+k+NfWurNHKCdzFAQYCCAAUBCgIUBHQJGv4V1CvpqdMEAQoCFAQoCOgVNP8+3VmhCQIUBAQImrnL+mszQUCMoDlDFFKVCQLCBM0Woqh6TBAQKWieEAVWEpygGRzF1hDfYmMdhc+esgeNcpQxr5s0kCWoPkRJM6b/13PBV2RS34z0FsuOUvb1K/agvDUUNLJPXgB8dgfg01+AYYJafH7QP8aTNKAgQEGAggAFAQoCFAQoCFAQoCBAQYCCAAUBCgJ+ADQ3sQMyN5x9AAAAAElFTkSuQmCC', 'base64');

export function uniqueEmail(tag: string): string {
  return `${tag}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** The verification code mailed to `email`, from `storybang dev`'s outbox. */
export async function codeFor(email: string): Promise<string> {
  const outbox = join(process.env.STORYBANG_WEB_DATA!, 'outbox');
  for (let i = 0; i < 100; i++) {
    const files = (() => {
      try {
        return readdirSync(outbox).sort().reverse();
      } catch {
        return [];
      }
    })();
    for (const f of files) {
      const text = readFileSync(join(outbox, f), 'utf8');
      const code = /verification code is (\S+?)\.?\s*$/m.exec(text)?.[1];
      if (text.startsWith(`To: ${email}\n`) && code) return code;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no verification code for ${email} in ${outbox}`);
}

export interface Account {
  email: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** A verified account made through the API, logged in. */
export async function account(request: APIRequestContext, tag = 'api'): Promise<Account> {
  const email = uniqueEmail(tag);
  expect((await request.post('/api/v1/auth/register', { data: { email, password: PASSWORD, display_name: 'Ada' } })).status()).toBe(201);
  expect((await request.post('/api/v1/auth/verify', { data: { email, code: await codeFor(email) } })).status()).toBe(204);
  const login = await request.post('/api/v1/auth/login', { data: { email, password: PASSWORD } });
  expect(login.status()).toBe(200);
  return { email, ...(await login.json()) };
}

/** Store \`who\`'s tokens as the app would after a login; every tab of the context shares them. */
export async function logIn(page: Page, who: Account, expiresAt = Date.now() + who.expires_in * 1000): Promise<void> {
  await page.goto('/offline.html');
  await page.evaluate((tokens) => localStorage.setItem('storybang.session', tokens), JSON.stringify({ access: who.access_token, refresh: who.refresh_token, expiresAt }));
}

export function shooter(page: Page, info: TestInfo) {
  let n = 0;
  return async (step: string) => {
    n += 1;
    const name = `${String(n).padStart(2, '0')}-${step}.png`;
    await page.screenshot({ path: join(import.meta.dirname, '..', 'artifacts', info.project.name, info.title.replace(/\W+/g, '-'), name), fullPage: true });
  };
}

/** No serious or critical WCAG 2 A/AA violation on the page as it is now. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad, `axe on ${where}`).toEqual([]);
}
