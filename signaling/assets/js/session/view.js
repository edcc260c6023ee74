// The session screen: toolbar, the remote picture (data-testid
// "remote-screen"), a status overlay while connecting and after the end.

import { h, replace } from '../dom.js';
import { permissionLabel } from '../format.js';
import { Connection } from './connection.js';
import { InputCapture, LEAVE_CHORD } from './input.js';
import { statsText, summarize } from './stats.js';
import { createSurface, renderMode } from './surface.js';

/** Where the viewer's "Scale to window" choice is remembered. */
const SCALE_KEY = 'meshdesk.scale';

export function sessionView(root, live, device, onClose) {
  const render = renderMode();
  const screenLabel = (name) => `Remote screen of ${name}. ${LEAVE_CHORD} returns keyboard focus to the page.`;
  const surface = createSurface(render, screenLabel(device.name));
  const video = surface.el;
  const overlay = h('div', { className: 'overlay', attrs: { role: 'status', 'aria-live': 'polite' } });
  const stage = h('div', { className: 'stage' }, video, overlay);
  const stats = h('span', { className: 'stats', dataset: { testid: 'session-stats' } }, 'Connecting…');
  const mode = h('span', { className: 'badge', dataset: { testid: 'session-mode' } });
  const title = h('strong', { className: 'title' }, device.name);
  const btn = (label, title, fn) => h('button', { type: 'button', className: 'tool', title, on: { click: fn } }, label);
  const scaleBtn = btn('Scale to window', 'Enlarge a smaller remote screen to fill the window (off: shown at its own size)',
    () => setScale(scaleBtn.getAttribute('aria-pressed') !== 'true'));
  const ctrlAltDel = btn('Ctrl+Alt+Del', 'Send Ctrl+Alt+Del', () => input?.ctrlAltDel());
  const controls = [
    scaleBtn,
    btn('Fullscreen', 'Full screen (keyboard shortcuts go to the remote PC)', () => toggleFullscreen()),
    ctrlAltDel,
    btn('Refresh picture', 'Ask the remote PC for a full new picture', () => requestKeyframe()),
  ];
  const disconnect = btn('Disconnect', 'End the session', () => conn.end('viewer_closed'));
  disconnect.className = 'tool danger';
  const bar = h('div', { className: 'toolbar', attrs: { role: 'toolbar', 'aria-label': 'Session' } },
    h('button', { type: 'button', className: 'tool back', on: { click: () => close() } }, '← Devices'),
    title,
    mode, stats, h('span', { className: 'spacer' }), ...controls, disconnect);
  const view = h('section', { className: 'session', dataset: { render }, attrs: { 'aria-label': `Session with ${device.name}` } }, bar, stage);
  replace(root, view);
  setScale(localStorage.getItem(SCALE_KEY) === 'window', false);

  let input = null;
  let inputChannel = null;
  let controlChannel = null;
  let prevStats = null;
  let ended = false;

  const setState = (text) => {
    overlay.textContent = text ?? '';
    overlay.hidden = !text;
  };
  const send = (msg) => {
    if (inputChannel?.readyState === 'open') inputChannel.send(JSON.stringify(msg));
  };
  const requestKeyframe = () => {
    if (controlChannel?.readyState === 'open') controlChannel.send(JSON.stringify({ type: 'request_keyframe' }));
  };
  const picture = () => ({ ...surface.size(), enlarge: view.dataset.scale === 'window' });
  /** Show the picture at its own size (shrunk only if larger) or fill the window. */
  function setScale(toWindow, remember = true) {
    view.dataset.scale = toWindow ? 'window' : 'fit';
    scaleBtn.setAttribute('aria-pressed', String(toWindow));
    if (remember) localStorage.setItem(SCALE_KEY, toWindow ? 'window' : 'fit');
  }

  const conn = new Connection(live, device.id, {
    encodedStreams: render === 'webcodecs' && typeof RTCRtpScriptTransform !== 'function',
    state: (t) => !ended && setState(t),
    created: (m) => {
      // A session opened by link learns the device's name here.
      if (m.device_name) {
        title.textContent = m.device_name;
        view.setAttribute('aria-label', `Session with ${m.device_name}`);
        video.setAttribute('aria-label', screenLabel(m.device_name));
      }
      const viewOnly = m.permission === 'view';
      view.dataset.permission = m.permission;
      mode.textContent = viewOnly ? 'View only' : permissionLabel(m.permission);
      mode.dataset.kind = viewOnly ? 'view' : 'control';
      ctrlAltDel.disabled = viewOnly;
    },
    track: (stream, receiver) => surface.attach(receiver, stream),
    channel: (label, dc) => {
      if (label === 'control') {
        controlChannel = dc;
        // Frames decoded in the page never reach the browser's decoder,
        // which would ask for keyframes all the time: the page asks itself.
        if (render === 'webcodecs') {
          const off = () => dc.send(JSON.stringify({ type: 'rtcp_keyframe_requests', enabled: false }));
          if (dc.readyState === 'open') off();
          else dc.addEventListener('open', off, { once: true });
        }
      }
      if (label === 'input') {
        inputChannel = dc;
        if (view.dataset.permission !== 'view') {
          input = new InputCapture(video, picture, send, () => bar.querySelector('.back').focus());
        }
      }
    },
    ended: (message, reason) => {
      ended = true;
      input?.detach();
      clearInterval(statsTimer);
      view.dataset.ended = reason;
      surface.close();
      controls.forEach((b) => { b.disabled = true; });
      disconnect.disabled = true;
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
      replace(overlay, h('p', { dataset: { testid: 'session-ended' } }, message),
        h('button', { type: 'button', className: 'primary', on: { click: () => close() } }, 'Back to devices'));
      overlay.hidden = false;
      overlay.querySelector('button').focus();
    },
  });

  surface.onFirstFrame = () => conn.shown();
  surface.onKeyframeNeeded = () => requestKeyframe();

  const statsTimer = setInterval(async () => {
    if (!conn.pc) return;
    const s = summarize(await conn.pc.getStats(), prevStats, { framesDecoded: surface.framesDecoded, ...surface.size() });
    prevStats = s;
    stats.textContent = statsText(s);
    view.dataset.path = s.path ?? '';
    view.dataset.relayProtocol = s.relayProtocol ?? '';
  }, 1000);

  async function toggleFullscreen() {
    if (document.fullscreenElement) {
      await document.exitFullscreen().catch(() => {});
      return;
    }
    await stage.requestFullscreen().catch(() => {});
    // Shortcuts such as Ctrl+W and Esc go to the remote PC while full screen.
    await navigator.keyboard?.lock?.().catch(() => {});
    if (input) video.requestPointerLock?.()?.catch?.(() => {});
    video.focus();
  }
  const onFullscreen = () => {
    if (!document.fullscreenElement) {
      navigator.keyboard?.unlock?.();
      if (document.pointerLockElement) document.exitPointerLock();
    }
  };
  document.addEventListener('fullscreenchange', onFullscreen);

  function close() {
    if (!ended) conn.end('viewer_closed');
    document.removeEventListener('fullscreenchange', onFullscreen);
    onClose();
  }

  conn.start();
  setTimeout(() => video.focus(), 0);
  return {
    deviceId: device.id,
    offline: () => conn.deviceOffline(),
    close,
    get ended() { return ended; },
  };
}
