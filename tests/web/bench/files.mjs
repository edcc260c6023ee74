// `scripts/bench files`, browser half: a file of BENCH_FILE_MIB MiB
// (default 1024) of pseudo-random bytes on loopback, sent to the host with
// the session toolbar's "Send files" (timed from handing the file to the
// page's picker to its row saying "Sent") and fetched back with the
// device's Files view (Download, timed from the click to the end of
// Chromium's download), MB/s (10^6 bytes) each way, SHA-256 checked both
// ways, and the host's peak memory during each transfer above what it used
// just before (VmRSS sampled every 100 ms). Prints one JSON object on
// stdout, progress on stderr. The binaries come from MESHDESK_BIN_DIR.
// Everything it made (the file, the received copy, the browser's
// download) is removed at the end, also when it fails.

import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  cleanup, createUser, inputReady, launchBrowser, newPage, onlineDevice, runBench, signIn, startDevice, startServer,
  tempDir, waitOnline,
} from '../harness.mjs';

const MIB = Number(process.env.BENCH_FILE_MIB ?? 1024);
const NAME = 'big.bin';
const DEVICE = 'bench-pc';
/** Longest a transfer may take (the slowest plausible rate for 1 GiB, with margin). */
const TRANSFER_MS = Math.max(120000, MIB * 2000);

const log = (m) => console.error(`bench files: ${m}`);
const round = (v) => Math.round(v * 10) / 10;

/** Write `mib` MiB of pseudo-random bytes to `path`, a MiB at a time; returns its SHA-256. */
function writeFile(path, mib) {
  const hash = createHash('sha256');
  const block = Buffer.alloc(1 << 20);
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      randomFillSync(block);
      writeSync(fd, block);
      hash.update(block);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** SHA-256 of a file, streamed. */
function shaOf(path) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

function rssKib(pid) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Run `transfer` while sampling the host's VmRSS every 100 ms: returns
 * {seconds, peakMib} (peak above the RSS just before), `transfer` being
 * given `start()` to call at the instant its clock starts.
 */
async function measured(pid, transfer) {
  const before = rssKib(pid);
  let peak = before;
  const sampler = setInterval(() => { peak = Math.max(peak, rssKib(pid)); }, 100);
  let t0 = null;
  try {
    await transfer(() => { t0 = performance.now(); });
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - t0) / 1000;
  peak = Math.max(peak, rssKib(pid));
  return { seconds, peakMib: Math.max(0, peak - before) / 1024 };
}

/** Log the status of the row of `name` every 10 s; returns the function that stops it. */
function logProgress(page, name) {
  const timer = setInterval(async () => {
    const text = await page.evaluate((n) => [...document.querySelectorAll('[data-testid="transfer"]')]
      .find((li) => li.querySelector('[data-testid="transfer-name"]')?.textContent === n)
      ?.querySelector('[data-testid="transfer-status"]')?.textContent, name).catch(() => null);
    if (text) log(`  ${name}: ${text}`);
  }, 10000);
  return () => clearInterval(timer);
}

/** Until the row of `name` has ended; fails unless its status is `want`. */
async function rowEnded(page, name, want) {
  const stop = logProgress(page, name);
  try {
    const ended = await page.waitForFunction((n) => {
      const li = [...document.querySelectorAll('[data-testid="transfer"]')]
        .find((l) => l.querySelector('[data-testid="transfer-name"]')?.textContent === n);
      if (!li || !['done', 'failed', 'cancelled'].includes(li.dataset.state)) return null;
      return { state: li.dataset.state, text: li.querySelector('[data-testid="transfer-status"]').textContent };
    }, name, { polling: 50, timeout: TRANSFER_MS });
    const { state, text } = await ended.jsonValue();
    if (text !== want) throw new Error(`the transfer of ${name} ended ${state}: ${text}`);
  } finally {
    stop();
  }
}

let stopping = false;

/** On Ctrl-C or a kill, clean up too: the file is large. */
function stopped() {
  stopping = true;
  cleanup().finally(() => process.exit(130));
}

async function main() {
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, stopped);
  const root = tempDir('bench-files');
  // If the process exits anyway before the cleanup is done.
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  const receive = join(root, 'received');
  const shared = join(root, 'shared');
  mkdirSync(receive);
  mkdirSync(shared);
  const file = join(shared, NAME);
  log(`writing ${MIB} MiB`);
  const want = writeFile(file, MIB);
  const bytes = MIB * 1024 * 1024;

  const server = await startServer();
  const alice = await createUser(server, 'alice');
  const d = await startDevice(server, alice, {
    name: DEVICE, width: 320, height: 240,
    hostConfig: `[files]\nreceive_dir = ${JSON.stringify(receive)}\nshared = [${JSON.stringify(shared)}]`,
  });
  const pid = d.host.child.pid;
  await waitOnline(server, alice, d.deviceId);
  const browser = await launchBrowser(server);
  // Playwright's own handlers close the browser on a signal and exit
  // (SIGINT) before the rest is cleaned up; cleanup() closes it here.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    for (const l of process.listeners(sig)) if (l !== stopped) process.off(sig, l);
  }

  // Upload: "Send files" in a session.
  log('browser upload (Send files)');
  const session = await newPage(browser);
  await signIn(session, server, 'alice');
  await onlineDevice(session, d.deviceId).getByRole('button', { name: /Connect/ }).click();
  await inputReady(session);
  const sendFiles = session.getByTestId('send-files');
  await sendFiles.waitFor();
  const up = await measured(pid, async (start) => {
    const [chooser] = await Promise.all([session.waitForEvent('filechooser'), sendFiles.click()]);
    start();
    await chooser.setFiles(file);
    await rowEnded(session, NAME, 'Sent');
  });
  const uploadOk = (await shaOf(join(receive, NAME))) === want;
  log(`upload ${round(up.seconds)} s, sha256 ${uploadOk ? 'ok' : 'MISMATCH'}`);
  rmSync(join(receive, NAME), { force: true });
  if (session.errors.length) log(`page errors: ${session.errors.join('; ')}`);
  await session.context().close();

  // Download: the Files view's Download.
  log('browser download (Files view)');
  const page = await newPage(browser);
  await signIn(page, server, 'alice');
  await onlineDevice(page, d.deviceId).getByRole('button', { name: `Files of ${DEVICE}` }).click();
  await page.waitForURL(/#\/files\//);
  const entry = (name) => page.locator(`[data-testid="files-entry"][data-name="${name}"]`);
  await entry('shared').getByRole('button', { name: 'shared' }).click();
  await entry(NAME).waitFor();
  let saved;
  let download;
  const down = await measured(pid, async (start) => {
    const event = page.waitForEvent('download', { timeout: TRANSFER_MS });
    start();
    await entry(NAME).getByRole('button', { name: `Download ${NAME}` }).click();
    const stop = logProgress(page, NAME);
    try {
      download = await event;
      saved = await download.path();
    } finally {
      stop();
    }
  });
  const downloadOk = (await shaOf(saved)) === want;
  log(`download ${round(down.seconds)} s, sha256 ${downloadOk ? 'ok' : 'MISMATCH'}`);
  await download.delete();
  if (page.errors.length) log(`page errors: ${page.errors.join('; ')}`);

  await cleanup();
  return {
    browser: {
      file_mib: MIB,
      upload_mb_s: round(bytes / 1e6 / up.seconds),
      download_mb_s: round(bytes / 1e6 / down.seconds),
      upload_s: round(up.seconds),
      download_s: round(down.seconds),
      host_peak_rss_mib_upload: round(up.peakMib),
      host_peak_rss_mib_download: round(down.peakMib),
      sha256_ok: uploadOk && downloadOk,
    },
  };
}

// Once stopped, what fails because the cleanup closed it waits for the
// cleanup to end (runBench would exit halfway through it).
runBench(() => main().catch((e) => (stopping ? new Promise(() => {}) : Promise.reject(e))));
