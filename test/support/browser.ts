/**
 * A headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core
 * (never a browser build downloaded by playwright). Each launch gets a fresh profile folder;
 * the flags keep a machine without internet quiet (no background requests, updates or sync).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env['SMSC_CHROMIUM'] ?? '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why browser tests cannot run here (for node:test's `skip`), or false when they can. */
export async function browserSkipReason(): Promise<string | false> {
  if (!existsSync(CHROMIUM_PATH)) return `no Chromium at ${CHROMIUM_PATH}: install it with apt-get install -y chromium`;
  try {
    await import('playwright-core');
  } catch {
    return 'playwright-core is not installed: npm ci (it is a devDependency); Chromium itself: apt-get install -y chromium';
  }
  return false;
}

/** A running headless Chromium with its own profile; `close()` ends it and removes the profile. */
export interface HeadlessChromium {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<HeadlessChromium> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'smsc-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: ARGS });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true }).catch(() => {});
    },
  };
}
