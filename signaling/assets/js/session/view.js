// The session screen: toolbar, the remote picture (data-testid
// "remote-screen"), a status overlay while connecting and after the end,
// files sent to the remote PC ("Send files", or dropped on the picture)
// and the shared clipboard.
// The session's decisions are the SessionController's (controller.js);
// this file builds the page and wires it to the Connection.

import { h, replace } from '../dom.js';
import { permissionLabel } from '../format.js';
import { ClipboardSync } from './clipboard-sync.js';
import { Connection } from './connection.js';
import { FilesChannel } from './files-channel.js';
import { InputCapture, LEAVE_CHORD } from './input.js';
import { createSoundPlayer, soundPlayerSupported } from './sound.js';
import { statsText, summarize } from './stats.js';
import { createSurface, renderMode } from './surface.js';
import { transferList } from './transfer-list.js';
import { pinKey } from './trust.js';

/** Where the viewer's "Scale to window" choice is remembered. */
const SCALE_KEY = 'meshdesk.scale';
/** Whether sound plays, remembered for this browser ('off' or 'on'). */
const SOUND_KEY = 'meshdesk.sound';
/** How often the toolbar's stats are refreshed. */
const STATS_EVERY_MS = 1000;

const screenLabel = (name) => `Remote screen of ${name}. ${LEAVE_CHORD} returns keyboard focus to the page.`;

function button(label, title, fn) {
  return h('button', { type: 'button', className: 'tool', title, on: { click: fn } }, label);
}

/** The page's elements; `act` gets the toolbar's commands. */
function buildPage(root, device, render, act) {
  const surface = createSurface(render, screenLabel(device.name));
  const overlay = h('div', { className: 'overlay', attrs: { role: 'status', 'aria-live': 'polite' } });
  const stage = h('div', { className: 'stage' }, surface.el, overlay);
  const stats = h('span', { className: 'stats', dataset: { testid: 'session-stats' } }, 'Connecting…');
  const mode = h('span', { className: 'badge', dataset: { testid: 'session-mode' } });
  const verified = h('span', { className: 'badge verified', hidden: true, dataset: { testid: 'session-verified' } });
  const title = h('strong', { className: 'title' }, device.name);
  const scale = button('Scale to window', 'Enlarge a smaller remote screen to fill the window (off: shown at its own size)',
    () => act.scale());
  const ctrlAltDel = button('Ctrl+Alt+Del', 'Send Ctrl+Alt+Del', () => act.ctrlAltDel());
  // The remote PC's monitors, once it says it has more than one.
  const screens = h('select', {
    className: 'tool',
    title: 'Show another screen of the remote PC',
    attrs: { 'aria-label': 'Screen' },
    dataset: { testid: 'screen-menu' },
    on: { change: (e) => act.screen(e.target.value) },
  });
  const screenMenu = h('label', { className: 'tool-menu', hidden: true }, 'Screen ', screens);
  // The remote PC's sound: shown once the PC says it sends some.
  const sound = button('Sound', 'Play the remote PC\'s sound here (off: muted)', () => act.sound());
  sound.hidden = true;
  sound.dataset.testid = 'sound-button';
  const audio = h('audio', { autoplay: true, hidden: true, dataset: { testid: 'remote-sound' } });
  // Files into the remote PC's receive folder: shown once its files
  // channel is there, with control only.
  const picker = h('input', {
    type: 'file', multiple: true, hidden: true, dataset: { testid: 'send-files-input' },
    on: { change: (e) => { act.sendFiles([...e.target.files]); e.target.value = ''; } },
  });
  const sendFiles = button('Send files', 'Send files to the remote PC (or drop them on its screen)', () => picker.click());
  sendFiles.hidden = true;
  sendFiles.dataset.testid = 'send-files';
  // Why something is not shared (the clipboard): quiet, in the toolbar.
  const note = h('span', { className: 'session-note', hidden: true, dataset: { testid: 'session-notice' }, attrs: { role: 'status' } });
  const transfers = transferList((id) => act.cancelTransfer(id));
  const controls = [
    sendFiles,
    screenMenu,
    sound,
    scale,
    button('Fullscreen', 'Full screen (keyboard shortcuts go to the remote PC)', () => act.fullscreen()),
    ctrlAltDel,
    button('Refresh picture', 'Ask the remote PC for a full new picture', () => act.refresh()),
  ];
  const disconnect = button('Disconnect', 'End the session', () => act.disconnect());
  disconnect.className = 'tool danger';
  const back = h('button', { type: 'button', className: 'tool back', on: { click: () => act.close() } }, '← Devices');
  const bar = h('div', { className: 'toolbar', attrs: { role: 'toolbar', 'aria-label': 'Session' } },
    back, title, mode, verified, stats, note, h('span', { className: 'spacer' }), ...controls, picker, disconnect);
  stage.append(transfers.el);
  const view = h('section', { className: 'session', dataset: { render }, attrs: { 'aria-label': `Session with ${device.name}` } }, bar, stage, audio);
  replace(root, view);
  return {
    surface, overlay, stage, stats, mode, verified, title, scale, ctrlAltDel, screens, screenMenu, sound, audio, controls, disconnect, back, view,
    sendFiles, note, transfers,
  };
}

/** Sound on or off (the button pressed when on); `remember` keeps it. */
function setSound(page, on, remember = true) {
  // With the page's own player the element is only its tap, always muted.
  page.audio.muted = page.player ? true : !on;
  page.player?.setMuted(!on);
  page.sound.setAttribute('aria-pressed', String(on));
  page.view.dataset.sound = on ? 'on' : 'off';
  if (remember) localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
}

/** Start the page's own sound player (once the PC says it sends sound). */
async function startPlayer(page) {
  page.player = { push() {}, setMuted() {}, close() {} };
  try {
    const player = await createSoundPlayer();
    if (page.view.dataset.ended) return player.close();
    page.player = player;
    page.audio.srcObject = player.stream;
    setSound(page, page.sound.getAttribute('aria-pressed') === 'true', false);
  } catch (e) {
    console.warn('the remote PC\'s sound does not play', e);
  }
}

/** Whether the PC sends sound: the Sound button shows only then. */
function showSound(page, available, reason) {
  page.sound.hidden = !available;
  page.view.dataset.soundAvailable = String(available);
  if (!available && reason) page.sound.title = `No sound: ${reason}`;
}

/** The host's monitors in the Screen menu, the shown one selected. */
function showScreens(page, screens, current) {
  const option = (s) => h('option', { value: s.id, selected: s.id === current },
    `${s.name} (${s.width}×${s.height}${s.primary ? ', primary' : ''})`);
  // `*`: every monitor in one picture.
  const all = h('option', { value: '*', selected: current === '*' }, 'All screens');
  replace(page.screens, ...screens.map(option), all);
  page.screens.value = current;
  page.screenMenu.hidden = screens.length < 2;
  page.view.dataset.screen = current;
}

/** Show the picture at its own size (shrunk only if larger) or fill the window. */
function setScale(page, toWindow, remember = true) {
  page.view.dataset.scale = toWindow ? 'window' : 'fit';
  page.scale.setAttribute('aria-pressed', String(toWindow));
  if (remember) localStorage.setItem(SCALE_KEY, toWindow ? 'window' : 'fit');
}

/** What `session_created` says: the device's name (on a link) and the grant. */
function showGrant(page, m) {
  if (m.device_name) {
    page.title.textContent = m.device_name;
    page.view.setAttribute('aria-label', `Session with ${m.device_name}`);
    page.surface.el.setAttribute('aria-label', screenLabel(m.device_name));
  }
  const viewOnly = m.permission === 'view';
  page.viewOnly = viewOnly;
  page.view.dataset.permission = m.permission;
  page.mode.textContent = viewOnly ? 'View only' : permissionLabel(m.permission);
  page.mode.dataset.kind = viewOnly ? 'view' : 'control';
  page.ctrlAltDel.disabled = viewOnly;
}

/** A notice in the toolbar: quiet, and each said once (clipboard.js). */
function showNote(page, text) {
  page.note.textContent = text;
  page.note.title = text;
  page.note.hidden = false;
}

/** Files dropped on the remote screen are sent, with control. */
function acceptDrops(page, send) {
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  page.stage.addEventListener('dragover', (e) => {
    if (!page.files || page.viewOnly || !hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  page.stage.addEventListener('drop', (e) => {
    if (!page.files || page.viewOnly || !hasFiles(e)) return;
    e.preventDefault();
    send([...e.dataTransfer.files]);
  });
}

function setStatus(page, text) {
  page.overlay.textContent = text ?? '';
  page.overlay.hidden = !text;
}

/** The host proved it holds the device's pinned key. */
function showVerified(page, safetyCode) {
  replace(page.verified, 'Verified ', h('span', { className: 'code', dataset: { testid: 'safety-code' } }, safetyCode));
  page.verified.title = 'The remote PC proved it holds its enrolled key. Compare the safety code with `meshdesk-host status` on it once.';
  page.verified.hidden = false;
}

/** After a changed key's warning: pin the new key and connect again. */
function trustButton(change) {
  const trust = async () => {
    await pinKey(change.deviceId, change.key);
    location.reload();
  };
  return h('button', { type: 'button', className: 'danger', on: { click: trust } }, 'Trust the new key');
}

/** The session is over: say why, and offer the way back. */
function showEnd(page, message, reason, back, keyChange) {
  page.view.dataset.ended = reason;
  page.surface.close();
  page.audio.srcObject = null;
  page.player?.close();
  page.controls.forEach((b) => { b.disabled = true; });
  page.files?.close();
  page.clipboard?.close();
  page.disconnect.disabled = true;
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  replace(page.overlay, h('p', { dataset: { testid: 'session-ended' } }, message),
    h('button', { type: 'button', className: 'primary', on: { click: back } }, 'Back to devices'),
    ...(keyChange ? [trustButton(keyChange)] : []));
  page.overlay.hidden = false;
  page.overlay.querySelector('button').focus();
}

/** Refresh the toolbar's stats every second; returns the stop function. */
function sampleStats(page, conn) {
  let prev = null;
  const timer = setInterval(async () => {
    if (!conn.pc) return;
    const own = { framesDecoded: page.surface.framesDecoded, ...page.surface.size() };
    const s = summarize(await conn.pc.getStats(), prev, own);
    prev = s;
    page.stats.textContent = statsText(s, page.quality);
    page.view.dataset.path = s.path ?? '';
    page.view.dataset.relayProtocol = s.relayProtocol ?? '';
  }, STATS_EVERY_MS);
  return () => clearInterval(timer);
}

/** Full screen, with the keyboard and pointer locked where the browser can. */
async function toggleFullscreen(page, input) {
  if (document.fullscreenElement) {
    await document.exitFullscreen().catch(() => {});
    return;
  }
  await page.stage.requestFullscreen().catch(() => {});
  // Shortcuts such as Ctrl+W and Esc go to the remote PC while full screen.
  await navigator.keyboard?.lock?.().catch(() => {});
  if (input) page.surface.el.requestPointerLock?.()?.catch?.(() => {});
  page.surface.el.focus();
}

function onFullscreenChange() {
  if (!document.fullscreenElement) {
    navigator.keyboard?.unlock?.();
    if (document.pointerLockElement) document.exitPointerLock();
  }
}

export function sessionView(root, live, device, screen, onClose) {
  const render = renderMode();
  let input = null;
  let ended = false;
  let stopStats = () => {};
  let keyChange = null;
  const act = {
    scale: () => setScale(page, page.scale.getAttribute('aria-pressed') !== 'true'),
    ctrlAltDel: () => input?.ctrlAltDel(),
    fullscreen: () => toggleFullscreen(page, input),
    refresh: () => conn.requestKeyframe(),
    screen: (id) => conn.selectScreen(id),
    sound: () => setSound(page, page.sound.getAttribute('aria-pressed') !== 'true'),
    disconnect: () => conn.end('viewer_closed'),
    close: () => close(),
    sendFiles: (files) => page.files?.send(files),
    cancelTransfer: (id) => page.files?.cancel(id),
  };
  const page = buildPage(root, device, render, act);
  acceptDrops(page, act.sendFiles);
  // The page plays the sound itself where it can (sound.js); `?sound=track`
  // plays the audio track instead (as where it cannot; scripts/bench sound
  // measures both).
  const ownSound = soundPlayerSupported() && new URLSearchParams(location.search).get('sound') !== 'track';
  setScale(page, localStorage.getItem(SCALE_KEY) === 'window', false);
  setSound(page, localStorage.getItem(SOUND_KEY) !== 'off', false);
  const picture = () => ({ ...page.surface.size(), enlarge: page.view.dataset.scale === 'window' });
  const conn = new Connection(live, device.id, {
    render,
    screen,
    screens: (list, current) => showScreens(page, list, current),
    // Connect was clicked, so the browser lets the sound play.
    audio: (stream) => {
      if (ownSound) return;
      page.audio.srcObject = stream;
      page.audio.play().catch((e) => console.warn('the remote PC\'s sound does not play', e));
    },
    soundPacket: ownSound ? (message) => page.player?.push(message) : undefined,
    quality: (quality) => {
      page.quality = quality;
      page.view.dataset.videoKbps = String(quality.bitrateKbps);
    },
    sound: (available, reason) => {
      showSound(page, available, reason);
      if (available && ownSound && !page.player) startPlayer(page);
    },
    encodedStreams: render === 'webcodecs' && typeof RTCRtpScriptTransform !== 'function',
    state: (t) => setStatus(page, t),
    created: (m) => showGrant(page, m),
    track: (stream, receiver) => page.surface.attach(receiver, stream),
    attachInput: () => {
      input ??= new InputCapture(page.surface.el, picture, (msg) => conn.sendInput(msg), () => page.back.focus());
    },
    verified: (safetyCode) => showVerified(page, safetyCode),
    files: (port) => {
      page.files = new FilesChannel(port, { row: (row) => page.transfers.update(row), notice: (t) => showNote(page, t) });
      page.sendFiles.hidden = page.viewOnly;
    },
    clipboard: (port) => {
      page.clipboard = new ClipboardSync(port, {
        mayOffer: !page.viewOnly, focusTarget: page.surface.el, notice: (t) => showNote(page, t),
      });
    },
    keyChanged: (change) => { keyChange = change; },
    ended: (message, reason) => {
      ended = true;
      input?.detach();
      stopStats();
      showEnd(page, message, reason, () => close(), keyChange);
    },
  });
  page.surface.onFirstFrame = () => conn.shown();
  page.surface.onKeyframeNeeded = () => conn.requestKeyframe();
  stopStats = sampleStats(page, conn);
  document.addEventListener('fullscreenchange', onFullscreenChange);

  function close() {
    if (!ended) conn.end('viewer_closed');
    document.removeEventListener('fullscreenchange', onFullscreenChange);
    onClose();
  }

  conn.start();
  setTimeout(() => page.surface.el.focus(), 0);
  return {
    deviceId: device.id,
    offline: () => conn.deviceOffline(),
    close,
    get ended() { return ended; },
  };
}
