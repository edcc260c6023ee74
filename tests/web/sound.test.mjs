// The remote PC's sound in Chromium, with a real PulseAudio server on each
// side (pulse.mjs): a tone played on the host's side is found at its
// frequency in the page (a WebAudio analyser on the session's sound) and
// at the browser's own sound card (its server's sink, recorded); the
// toolbar's "Sound" button mutes it there, and the choice is remembered
// by the browser. The owner's switch in the device's dialog turns it off.
// A host without a sound server streams its screen and the toolbar shows
// no Sound button.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanup, createUser, inputReady, launchBrowser, onlineDevice, rest, screenPoint, signedInPage, startDevice,
  startServer, waitFor,
} from './harness.mjs';
import { hasTone, pageToneHz, silence, startPulse, tone } from './pulse.mjs';

after(cleanup);

const TONE_HZ = 1000;

/** A server, alice, a device whose host hears `pc`, a browser playing into `speakers`. */
async function world({ pc, speakers, hostEnv }) {
  const server = await startServer();
  const alice = await createUser(server, 'alice');
  const env = hostEnv ?? { PULSE_SERVER: pc.server };
  const device = await startDevice(server, alice, { name: 'speaker-pc', probe: { color: '336699' }, env });
  const browser = await launchBrowser(server, { speakers });
  const page = await signedInPage(browser, server, 'alice', { online: device.deviceId });
  return { server, alice, browser, page, ...device };
}

/** What the browser's sound card played: `heard(since)` is true once a
 * block recorded after `since` (Date.now()) carried the tone. */
function listen(speakers) {
  const blocks = [];
  speakers.record((at, block) => {
    blocks.push({ at, tone: hasTone(block, TONE_HZ) });
    if (blocks.length > 1000) blocks.shift();
  });
  return {
    heard: (since) => blocks.some((b) => b.at > since && b.tone),
    /** How many times the tone started after `since`. */
    onsets: (since) => blocks.filter((b, i) => b.at > since && b.tone && i > 0 && !blocks[i - 1].tone).length,
    silentSince: (since) => blocks.filter((b) => b.at > since).length >= 50
      && !blocks.some((b) => b.at > since && b.tone),
  };
}

async function connect(page, deviceId) {
  // A click, as a user's: the browser then lets the session's sound play.
  await onlineDevice(page, deviceId).getByRole('button', { name: /Connect/ }).click();
  await page.getByTestId('remote-screen').waitFor();
}

test('the session plays the PC\'s sound; the Sound button mutes it, remembered', async () => {
  const pc = await startPulse();
  const speakers = await startPulse();
  const { page, deviceId, probe } = await world({ pc, speakers });
  const playing = pc.play(tone(TONE_HZ, 120), 'tone');
  const card = listen(speakers);

  await connect(page, deviceId);
  const sound = page.getByRole('button', { name: 'Sound' });
  await sound.waitFor();
  assert.equal(await sound.getAttribute('aria-pressed'), 'true');
  const hz = await waitFor('the tone in the page', async () => {
    const f = await page.evaluate(pageToneHz);
    return f !== null && Math.abs(f - TONE_HZ) < 25 && f;
  });
  console.log(`tone found in the page at ${hz.toFixed(1)} Hz`);
  const connected = Date.now();
  await waitFor('the tone at the browser\'s sound card', () => card.heard(connected));
  // Input goes on as in any session.
  await inputReady(page);
  const at = await screenPoint(page, 0.5, 0.5);
  await page.mouse.click(at.x, at.y);
  await waitFor('the click on the PC', () => probe.clicks().length > 0);

  // Muted: the card goes quiet (after what was already on its way).
  await sound.click();
  assert.equal(await sound.getAttribute('aria-pressed'), 'false');
  const muted = Date.now() + 300;
  await waitFor('a second of silence at the card', () => card.silentSince(muted));

  // A new session starts muted: the browser remembers.
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await page.getByRole('button', { name: '← Devices' }).click();
  await connect(page, deviceId);
  await sound.waitFor();
  assert.equal(await sound.getAttribute('aria-pressed'), 'false');
  const again = Date.now() + 300;
  await waitFor('silence in the muted session', () => card.silentSince(again));
  await sound.click();
  const unmuted = Date.now();
  await waitFor('the tone once unmuted', () => card.heard(unmuted));
  // Short sounds with silence between, for seconds (each burst a talk
  // spurt on the session's sound channel): input still gets through. A
  // channel whose events the host did not read once stalled every channel
  // that way (scripts/bench sound: every click lost).
  playing.kill('SIGKILL');
  const bursts = Buffer.concat(Array.from({ length: 12 }, () => Buffer.concat([tone(TONE_HZ, 0.06), silence(0.6)])));
  const burstsFrom = Date.now();
  pc.play(bursts, 'bursts');
  await waitFor('the bursts at the card', () => card.onsets(burstsFrom) >= 10, 30000);
  const clicks = probe.clicks().length;
  await inputReady(page);
  await page.mouse.click(at.x, at.y);
  await waitFor('a click after seconds of sound', () => probe.clicks().length > clicks);
});

test('the owner turns the device\'s sound off in its dialog', async () => {
  const pc = await startPulse();
  const speakers = await startPulse();
  const { server, alice, page, deviceId } = await world({ pc, speakers });
  const item = onlineDevice(page, deviceId);
  await item.getByRole('button', { name: 'Consent speaker-pc' }).click();
  const dialog = page.getByRole('dialog');
  const box = dialog.getByLabel('Sessions hear this PC\'s sound');
  assert.ok(await box.isChecked());
  await box.uncheck();
  await dialog.getByRole('button', { name: 'Save' }).click();
  await waitFor('sound off stored', async () =>
    (await rest(server, 'GET', `/devices/${deviceId}`, { token: alice })).sound === false);

  pc.play(tone(TONE_HZ, 60), 'tone');
  await connect(page, deviceId);
  await waitFor('the PC saying there is no sound', () =>
    page.locator('[data-sound-available="false"]').count());
  assert.ok(await page.getByRole('button', { name: 'Sound' }).isHidden());
  assert.equal(await page.evaluate(pageToneHz), null);
});

test('a host without a sound server streams its screen, and no Sound button shows', async () => {
  const speakers = await startPulse();
  const { page, deviceId } = await world({
    speakers,
    hostEnv: { PULSE_SERVER: 'unix:/nonexistent/meshdesk/pulse/native' },
  });
  await connect(page, deviceId);
  await waitFor('the picture', () => page.getByTestId('remote-screen')
    .evaluate((el) => el.videoWidth > 0 || el.width > 0));
  await waitFor('the PC saying there is no sound', () =>
    page.locator('[data-sound-available="false"]').count());
  assert.ok(await page.getByRole('button', { name: 'Sound' }).isHidden());
  const title = await page.getByTestId('sound-button').getAttribute('title');
  assert.match(title, /^No sound: no sound server/);
});
