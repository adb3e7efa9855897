/**
 * Global setup: a real `storybang dev` (every API, the Socket.IO events, the workers and the
 * bundled model in one process) on a free port, with a fresh data directory, serving web/dist.
 * Login needs a verified account here, so that the tests walk through verification.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

async function ready(url: string, child: { exitCode: number | null }, seconds: number): Promise<void> {
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`storybang dev exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`storybang dev did not become ready at ${url} in ${seconds} s`);
}

export default async function setup() {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'storybang-web-'));
  const url = `http://127.0.0.1:${port}`;
  const bin = process.env.STORYBANG_BIN ?? join(ROOT, '.venv-dev', 'bin', 'storybang');
  const child = spawn(bin, ['dev', '--port', String(port), '--data-dir', dataDir], {
    cwd: ROOT,
    env: {
      ...process.env,
      STORYBANG_AUTH__REQUIRE_VERIFICATION: 'true',
      STORYBANG_WEB__DIST_DIR: join(ROOT, 'web', 'dist'),
      // Short stories: the journey needs a few paragraphs, not a novel, from a CPU (the benchmark
      // asks for shorter ones still).
      STORYBANG_GENERATION__MAX_TOKENS: process.env.STORYBANG_GENERATION__MAX_TOKENS ?? '160',
      // A first run converts the bundled model before writing: minutes on a small, busy CPU.
      STORYBANG_GENERATION__TIMEOUT_SECONDS: '900',
      // Every test signs up from 127.0.0.1.
      STORYBANG_LIMITS__REGISTER_PER_ADDRESS: '1000/hour',
      STORYBANG_LIMITS__LOGIN_PER_ADDRESS: '1000/minute',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await ready(url, child, 180);
  process.env.STORYBANG_WEB_URL = url;
  process.env.STORYBANG_WEB_DATA = dataDir;
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => {
      if (child.exitCode !== null) r(null);
      else child.once('exit', r);
      setTimeout(r, 10_000);
    });
    rmSync(dataDir, { recursive: true, force: true });
  };
}
