// What a browser test needs from the machine beyond the built binaries
// (root for network namespaces): the same rule as the Rust tests'
// `meshdesk_tests::prereq`. A missing prerequisite fails the test, since
// scripts/test runs as root with every package installed; a run that sets
// MESHDESK_ALLOW_SKIP=1 (scripts/test never does) skips it instead, and
// the skip is written to the skip log (MESHDESK_SKIP_LOG, by default
// meshdesk-skipped.txt beside the build's profile directory), which
// scripts/test counts in its summary.

import { appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { binDir } from './harness.mjs';

export const skipLog = () =>
  process.env.MESHDESK_SKIP_LOG ?? join(dirname(binDir), 'meshdesk-skipped.txt');

/**
 * Whether test `t` runs: true when nothing is `missing` (a sentence, or
 * undefined); false when something is and skipping is allowed (logged);
 * otherwise it throws, failing the test.
 */
export function prerequisiteMet(t, missing) {
  if (!missing) return true;
  if (process.env.MESHDESK_ALLOW_SKIP !== '1') {
    throw new Error(
      `${missing}. scripts/test runs as root with every package installed; ` +
        'to skip this test instead (it is then counted as skipped), set MESHDESK_ALLOW_SKIP=1',
    );
  }
  appendFileSync(skipLog(), `web::${t.name}: ${missing}\n`);
  t.skip(missing);
  return false;
}
