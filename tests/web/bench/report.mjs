// Rewrites the end-to-end figures table in docs/performance.md from one
// `scripts/bench e2e` JSON document: node report.mjs RESULT.json DOC.md

import { readFileSync, writeFileSync } from 'node:fs';

const [resultPath, docPath] = process.argv.slice(2);
const r = JSON.parse(readFileSync(resultPath, 'utf8'));
const BEGIN = '<!-- e2e-figures:begin -->';
const END = '<!-- e2e-figures:end -->';

const fmt = (v, unit = '') => (v === null || v === undefined ? 'n/a' : `${v}${unit}`);
const ms = (s) => (s ? `${fmt(s.p50)} / ${fmt(s.p95)} ms` : 'n/a');
const kb = (b) => (b === undefined ? 'n/a' : b >= 1000 ? `${(b / 1000).toFixed(1)} KB/s` : `${Math.round(b)} B/s`);
const pct = (c) => (c === undefined ? 'n/a' : `${Math.round(c * 1000) / 10} %`);
const ratio = (a, b) => (a !== null && a !== undefined && b ? (a / b).toFixed(2) : 'n/a');

const lines = [];
lines.push(`Measured ${r.date.slice(0, 10)} on ${r.machine.cpus} cores (${r.machine.model}); ` +
  `${r.samples} clicks per resolution, ${r.loads} page loads, ${r.seconds} s per bandwidth window. ` +
  'Latencies are p50 / p95 in the viewer\'s clock. Ratio is Meshdesk over VNC (or over ffmpeg). ' +
  'In the first table both pictures are shown at their own size in a 1920x1200 window (the default of each viewer here).');
lines.push('');
lines.push('| Figure | Meshdesk (browser) | x11vnc + noVNC | Ratio | Goal |');
lines.push('|---|---|---|---|---|');
for (const [res, run] of Object.entries(r.runs)) {
  const m = run.meshdesk_browser;
  const v = run.vnc_browser ?? {};
  lines.push(`| Input to photon, ${res} | ${ms(m.input_to_photon_ms)} | ${ms(v.input_to_photon_ms)} | ` +
    `${ratio(m.input_to_photon_ms?.p50, v.input_to_photon_ms?.p50)} / ${ratio(m.input_to_photon_ms?.p95, v.input_to_photon_ms?.p95)} | ≤ 0.5 |`);
  if (m.page_load_to_first_frame_ms) {
    lines.push(`| Page load to first frame, new window, ${res} | ${ms(m.page_load_to_first_frame_ms)} | ${ms(v.page_load_to_first_frame_ms)} | ` +
      `${ratio(m.page_load_to_first_frame_ms.p50, v.page_load_to_first_frame_ms?.p50)} | ≤ 0.3 |`);
    if (m.page_load_in_open_tab_ms) {
      lines.push(`| Page load to first frame, open tab, ${res} | ${ms(m.page_load_in_open_tab_ms)} | ${ms(v.page_load_in_open_tab_ms)} | ` +
        `${ratio(m.page_load_in_open_tab_ms.p50, v.page_load_in_open_tab_ms?.p50)} | ≤ 0.3 |`);
    }
    const f = run.page_floor;
    if (f) {
      lines.push(`| Page load to first frame, a page that draws at once (this machine's floor), new window / open tab | ` +
        `${fmt(f.page_load_to_first_frame_ms?.p50)} / ${fmt(f.page_load_in_open_tab_ms?.p50)} ms (p50) | | ` +
        `${ratio(f.page_load_to_first_frame_ms?.p50, v.page_load_to_first_frame_ms?.p50)} / ` +
        `${ratio(f.page_load_in_open_tab_ms?.p50, v.page_load_in_open_tab_ms?.p50)} | |`);
    }
    const pf = run.protocol_floor;
    if (pf) {
      lines.push(`| Page load to first frame, a page that only speaks the protocol (one inline script, a \`<video>\`), new window / open tab | ` +
        `${fmt(pf.page_load_to_first_frame_ms?.p50)} / ${fmt(pf.page_load_in_open_tab_ms?.p50)} ms (p50) | | ` +
        `${ratio(pf.page_load_to_first_frame_ms?.p50, v.page_load_to_first_frame_ms?.p50)} / ` +
        `${ratio(pf.page_load_in_open_tab_ms?.p50, v.page_load_in_open_tab_ms?.p50)} | |`);
    }
  }
  if (m.static) {
    lines.push(`| Static screen: bytes/s to the viewer | ${kb(m.static.bytes_per_s)} | ${kb(v.static?.bytes_per_s)} | | ≤ 600 B/s |`);
    lines.push(`| Static screen: host CPU (one core) | ${pct(m.static.host_cpu)} | ${pct(v.static?.host_cpu)} | | < 1 % |`);
    const mm = m.motion_30hz;
    const vm = v.motion_30hz ?? {};
    lines.push(`| 30 Hz motion: bytes/s | ${kb(mm.bytes_per_s)} | ${kb(vm.bytes_per_s)} | ${ratio(mm.bytes_per_s, vm.bytes_per_s)} | ≤ 0.3 |`);
    lines.push(`| 30 Hz motion: updates/s seen | ${fmt(mm.updates_seen_per_s)} | ${fmt(vm.updates_seen_per_s)} | | 30 |`);
    lines.push(`| 30 Hz motion: Chromium CPU | ${pct(mm.chromium_cpu)} | ${pct(vm.chromium_cpu)} | ${ratio(mm.chromium_cpu, vm.chromium_cpu)} | ≤ 0.5 |`);
    lines.push(`| 30 Hz motion: host CPU (x11vnc + websockify for VNC) | ${pct(mm.host_cpu)} | ${pct(vm.host_cpu)} | | |`);
    if (run.ffmpeg_x264) {
      lines.push(`| 30 Hz motion: host CPU vs ffmpeg x11grab + libx264 ultrafast | ${pct(mm.host_cpu)} | ffmpeg ${pct(run.ffmpeg_x264.cpu)} | ${ratio(mm.host_cpu, run.ffmpeg_x264.cpu)} | ≤ 0.8 |`);
    }
  }
}
const scaled = Object.entries(r.runs).filter(([, run]) => run.meshdesk_browser_scaled);
if (scaled.length) {
  lines.push('');
  lines.push('| Both enlarged to the 1920x1200 window (Meshdesk "Scale to window", noVNC scale=true) | Meshdesk | x11vnc + noVNC | Ratio |');
  lines.push('|---|---|---|---|');
  for (const [res, run] of scaled) {
    const m = run.meshdesk_browser_scaled;
    const v = run.vnc_browser_scaled ?? {};
    lines.push(`| Input to photon, ${res} | ${ms(m.input_to_photon_ms)} | ${ms(v.input_to_photon_ms)} | ` +
      `${ratio(m.input_to_photon_ms?.p50, v.input_to_photon_ms?.p50)} / ${ratio(m.input_to_photon_ms?.p95, v.input_to_photon_ms?.p95)} |`);
    lines.push(`| 30 Hz motion: Chromium CPU, ${res} | ${pct(m.motion_30hz?.chromium_cpu)} | ${pct(v.motion_30hz?.chromium_cpu)} | ` +
      `${ratio(m.motion_30hz?.chromium_cpu, v.motion_30hz?.chromium_cpu)} |`);
  }
}
const wc = Object.entries(r.runs).filter(([, run]) => run.meshdesk_browser_webcodecs);
if (wc.length) {
  lines.push('');
  lines.push('| Browser renderer | Input to photon (p50 / p95) | 30 Hz motion: Chromium CPU | Static: bytes/s |');
  lines.push('|---|---|---|---|');
  for (const [res, run] of wc) {
    for (const [name, m] of [['<video> (default)', run.meshdesk_browser], ['WebCodecs canvas', run.meshdesk_browser_webcodecs]]) {
      lines.push(`| ${name}, ${res} | ${ms(m.input_to_photon_ms)} | ${pct(m.motion_30hz?.chromium_cpu)} | ${kb(m.static?.bytes_per_s)} |`);
    }
  }
}
const native = Object.entries(r.runs).filter(([, run]) => run.meshdesk_native);
if (native.length) {
  lines.push('');
  lines.push('| Native viewer (meshdesk-viewer, headless) | p50 / p95 | Of which: click to frame at the decoder / decoding (p50) | Goal |');
  lines.push('|---|---|---|---|');
  for (const [res, run] of native) {
    const n = run.meshdesk_native;
    lines.push(`| Input to photon, ${res} | ${ms(n.input_to_photon_ms)} | ` +
      `${fmt(n.click_to_decoder_ms?.p50)} / ${fmt(n.decode_ms?.p50)} ms | p50 ≤ 15 ms |`);
  }
  for (const [res, run] of native.filter(([, run]) => run.meshdesk_native.first_frame_ms)) {
    lines.push(`| Connect to first frame, ${res} | ${ms(run.meshdesk_native.first_frame_ms)} | | |`);
  }
}

const doc = readFileSync(docPath, 'utf8');
const block = `${BEGIN}\n${lines.join('\n')}\n${END}`;
const i = doc.indexOf(BEGIN);
const j = doc.indexOf(END);
const next = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + END.length) : `${doc.trimEnd()}\n\n${block}\n`;
writeFileSync(docPath, next);
console.error(`report: updated ${docPath}`);
