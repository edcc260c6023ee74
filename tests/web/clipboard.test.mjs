// The clipboard shared between the browser and the remote PC, against the
// real host and its X display: text and a PNG image copied on the host
// (xclip) reach the page's clipboard, and what the page's clipboard holds
// when its session gains focus reaches the host's. Without clipboard
// permission the session says so once and goes on. A view session copies
// from the PC only where its owner allows it, and never sends.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { deflateSync } from 'node:zlib';
import {
  atCleanup, cleanup, createUser, inputReady, newPage, onlineDevice, recordChannels, rest, signIn, startWithDevice, waitFor,
} from './harness.mjs';
import { prerequisiteMet } from './skip.mjs';
import { PERMISSION_TEXT } from '../../signaling/assets/js/session/clipboard.js';

after(cleanup);

function hasXclip() {
  try {
    execFileSync('which', ['xclip'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = CRC[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};

/** A PNG of `w` x `h` pixels of one colour [r, g, b]. */
function png(w, h, [r, g, b]) {
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'latin1');
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.concat(Array.from({ length: h }, () => Buffer.from([0, ...Array.from({ length: w }, () => [r, g, b]).flat()])));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** Put `data` (of `mime`) on the X display's CLIPBOARD, as a program copying does. */
function copyOnHost(x, mime, data) {
  // -quiet: xclip stays in the foreground, serving the selection until
  // another program takes it (or the test ends).
  const p = spawn('xclip', ['-quiet', '-selection', 'clipboard', '-t', mime], {
    env: { ...process.env, DISPLAY: x.display }, stdio: ['pipe', 'ignore', 'ignore'],
  });
  p.stdin.end(data);
  atCleanup(() => p.kill());
}

/** What the X display's CLIPBOARD holds as `mime`, or null. */
function hostClipboard(x, mime) {
  try {
    return execFileSync('xclip', ['-o', '-selection', 'clipboard', '-t', mime],
      { env: { ...process.env, DISPLAY: x.display }, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
  } catch {
    return null;
  }
}

/** The page's clipboard: {text} or {image: {width, height, pixel}} (the middle pixel). */
function pageClipboard(page) {
  return page.evaluate(async () => {
    const [item] = await navigator.clipboard.read();
    if (!item) return null;
    if (item.types.includes('image/png')) {
      const bitmap = await createImageBitmap(await item.getType('image/png'));
      const c = new OffscreenCanvas(bitmap.width, bitmap.height);
      const g = c.getContext('2d');
      g.drawImage(bitmap, 0, 0);
      const d = g.getImageData(bitmap.width >> 1, bitmap.height >> 1, 1, 1).data;
      return { image: { width: bitmap.width, height: bitmap.height, pixel: [d[0], d[1], d[2]] } };
    }
    if (item.types.includes('text/plain')) return { text: await (await item.getType('text/plain')).text() };
    return null;
  });
}

/** The session loses focus, then the remote screen gets it again. */
async function refocus(page) {
  await page.getByRole('button', { name: 'Refresh picture' }).focus();
  await page.getByTestId('remote-screen').focus();
}

/**
 * A session with alice's device, as alice or as `viewer` (who gets a view
 * share), in a page that may use the clipboard unless `grant` is false.
 */
async function session({ grant = true, viewer, ...options } = {}) {
  const started = await startWithDevice({ probe: { color: '00ff00' }, ...options });
  if (viewer) {
    await createUser(started.server, viewer);
    await rest(started.server, 'POST', `/devices/${started.deviceId}/shares`,
      { token: started.alice, body: { username: viewer, permission: 'view' } });
  }
  const page = await newPage(started.browser);
  await recordChannels(page.context());
  if (grant) await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: started.server.url });
  await signIn(page, started.server, viewer ?? 'alice');
  await onlineDevice(page, started.deviceId).getByRole('button', { name: /Connect/ }).click();
  await inputReady(page);
  return { ...started, page };
}

test('text and an image copied on the remote PC reach the page\'s clipboard, and the page\'s reach the PC\'s', async (t) => {
  if (!prerequisiteMet(t, hasXclip() ? undefined : 'xclip is not installed (Debian package xclip)')) return;
  const { page, x } = await session();

  copyOnHost(x, 'UTF8_STRING', 'copied on the host');
  await waitFor('the host\'s text in the page', async () => (await pageClipboard(page))?.text === 'copied on the host');

  copyOnHost(x, 'image/png', png(24, 16, [255, 0, 0]));
  await waitFor('the host\'s image in the page', async () => {
    const got = (await pageClipboard(page))?.image;
    return got && got.width === 24 && got.height === 16 && got.pixel[0] > 200 && got.pixel[1] < 50;
  });

  await page.evaluate(() => navigator.clipboard.writeText('copied in the browser'));
  await refocus(page);
  await waitFor('the page\'s text on the host', () => hostClipboard(x, 'UTF8_STRING')?.toString() === 'copied in the browser');

  await page.evaluate(async () => {
    const c = new OffscreenCanvas(8, 6);
    const g = c.getContext('2d');
    g.fillStyle = '#0000ff';
    g.fillRect(0, 0, 8, 6);
    const blob = await c.convertToBlob({ type: 'image/png' });
    await navigator.clipboard.write([new ClipboardItem({ 'image/png': blob })]);
  });
  await refocus(page);
  await waitFor('the page\'s image on the host', () => {
    const got = hostClipboard(x, 'image/png');
    // A PNG, 8 x 6 in its IHDR.
    return got && got.subarray(1, 4).toString() === 'PNG' && got.readUInt32BE(16) === 8 && got.readUInt32BE(20) === 6;
  });
  assert.deepEqual(page.errors, []);
});

test('without clipboard permission the session says so once and goes on', async (t) => {
  if (!prerequisiteMet(t, hasXclip() ? undefined : 'xclip is not installed (Debian package xclip)')) return;
  const { page, x } = await session({ grant: false });
  copyOnHost(x, 'UTF8_STRING', 'not allowed');
  await refocus(page);
  const note = page.getByTestId('session-notice');
  await note.getByText(PERMISSION_TEXT).waitFor();
  await refocus(page);
  assert.equal(await note.textContent(), PERMISSION_TEXT);
  assert.ok(await page.getByRole('button', { name: 'Send files' }).isVisible(), 'the session goes on');
  assert.deepEqual(page.errors, []);
});

test('a view session copies from the PC only where the owner allows it, and never sends its own', async (t) => {
  if (!prerequisiteMet(t, hasXclip() ? undefined : 'xclip is not installed (Debian package xclip)')) return;
  const { page, x, server, alice, deviceId } = await session({ viewer: 'bob' });
  assert.equal(await page.evaluate(() => 'clipboard' in window.__channels), false, 'no clipboard channel by default');

  await rest(server, 'PATCH', `/devices/${deviceId}`, { token: alice, body: { view_may_copy: true } });
  await page.reload();
  await inputReady(page);
  await waitFor('the clipboard channel', () => page.evaluate(() => window.__channels.clipboard?.readyState === 'open'));
  copyOnHost(x, 'UTF8_STRING', 'the owner lets bob copy this');
  await waitFor('the host\'s text in bob\'s page', async () => (await pageClipboard(page))?.text === 'the owner lets bob copy this');

  // His own clipboard stays his: nothing is offered, whatever the focus.
  await page.evaluate(() => navigator.clipboard.writeText('bob\'s own'));
  await refocus(page);
  const quietUntil = Date.now() + 1500;
  await waitFor('a quiet moment', () => {
    assert.equal(hostClipboard(x, 'UTF8_STRING')?.toString(), 'the owner lets bob copy this');
    return Date.now() > quietUntil;
  });
  assert.deepEqual(page.errors, []);
});
