// The shipped TypeScript declarations type-check a typed ESM and a typed CommonJS consumer
// (tsc --noEmit, strict; the consumer's @ts-expect-error lines must fail to compile).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { here, repoRoot } from './helpers.mjs';

test('tsc --noEmit on consumers of the package types', () => {
  const tsc = join(repoRoot, 'node_modules/.bin/tsc');
  try {
    execFileSync(tsc, ['-p', join(here, 'types')], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    assert.fail(`tsc reported errors:\n${e.stdout}${e.stderr}`);
  }
});
