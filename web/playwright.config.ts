/**
 * Browser tests: Debian's chromium (browser downloads do not work everywhere), driven by
 * Playwright, against a real `storybang dev` that e2e/server.ts starts on a free port with a fresh
 * data directory and the bundled model. Screenshots of every step land in artifacts/ (gitignored).
 */
import { defineConfig } from '@playwright/test';

/** Debian's chromium and its flags; the benchmarks (bench/) launch the same browser. */
export const chromium = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  globalSetup: './e2e/server.ts',
  // One model on a few CPU cores: stories are written one at a time.
  workers: 1,
  fullyParallel: false,
  timeout: 300_000,
  expect: { timeout: 20_000 },
  reporter: [['list']],
  use: {
    baseURL: process.env.STORYBANG_WEB_URL,
    launchOptions: chromium,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    locale: 'en-GB',
  },
  // Every test runs at both sizes: a laptop, and a phone held upright (touch).
  projects: [
    { name: 'desktop', use: { viewport: { width: 1280, height: 800 } } },
    { name: 'phone', use: { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } },
  ],
});
