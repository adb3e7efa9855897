/**
 * The web client's benchmark (`BENCH=web scripts/bench.sh`, or `npx playwright test -c
 * bench/playwright.config.ts` in web/): the browser tests' chromium and `storybang dev`
 * (e2e/server.ts), one run that prints its figures. Nothing here asserts a timing.
 */
import { defineConfig } from '@playwright/test';
import { chromium } from '../playwright.config';

// Short stories: the figures need each story's first paragraph, and a busy CPU writes slowly.
process.env.STORYBANG_GENERATION__MAX_TOKENS ??= '64';

export default defineConfig({
  testDir: '.',
  testMatch: 'figures.bench.ts',
  outputDir: '../test-results/bench',
  globalSetup: '../e2e/server.ts',
  workers: 1,
  // Three stories from the bundled model on a busy CPU.
  timeout: 1_800_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env.STORYBANG_WEB_URL,
    launchOptions: chromium,
    locale: 'en-GB',
    viewport: { width: 1280, height: 800 },
  },
});
