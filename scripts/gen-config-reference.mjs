#!/usr/bin/env node
// Writes docs/config-reference.md from the config schema (src/config/schema.ts), through the
// compiled renderer. Run after a build: `npm run docs:config`.
// src/config/reference.test.ts fails when the committed file differs from this output.
import { writeFileSync } from 'node:fs';
import { renderReference } from '../dist/src/config/reference.js';

writeFileSync(new URL('../docs/config-reference.md', import.meta.url), renderReference());
console.log('wrote docs/config-reference.md');
