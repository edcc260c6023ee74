// Live session statistics from RTCPeerConnection.getStats(): resolution,
// frame rate, bitrate, round-trip time and whether the path is direct or
// goes through a relay.

/**
 * Reduce one getStats() report (and the previous sample) to a summary.
 * `own` gives the page's own decoder counts ({framesDecoded, width,
 * height}) when it decodes frames itself (WebCodecs).
 */
export function summarize(report, prev, own = null) {
  let video = null;
  let pair = null;
  const byId = new Map();
  report.forEach((s) => {
    byId.set(s.id, s);
    if (s.type === 'inbound-rtp' && (s.kind === 'video' || s.mediaType === 'video')) video = s;
  });
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
  });
  if (!pair) {
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
    });
  }
  const local = pair && byId.get(pair.localCandidateId);
  const remote = pair && byId.get(pair.remoteCandidateId);
  const types = [local?.candidateType, remote?.candidateType];
  const out = {
    at: video?.timestamp ?? performance.now(),
    width: video?.frameWidth ?? 0,
    height: video?.frameHeight ?? 0,
    fps: video?.framesPerSecond ?? 0,
    framesDecoded: video?.framesDecoded ?? 0,
    bytes: video?.bytesReceived ?? 0,
    bitrate: 0,
    rttMs: pair?.currentRoundTripTime !== undefined ? pair.currentRoundTripTime * 1000 : null,
    path: !pair ? null : types.includes('relay') ? 'relayed' : 'direct',
    candidateType: local?.candidateType ?? null,
    // How this side reaches its TURN relay: 'udp', 'tcp' or 'tls'.
    relayProtocol: local?.candidateType === 'relay' ? (local.relayProtocol ?? null) : null,
  };
  if (own && own.framesDecoded > out.framesDecoded) {
    out.framesDecoded = own.framesDecoded;
    out.width = own.width;
    out.height = own.height;
    out.fps = prev && out.at > prev.at ? ((out.framesDecoded - prev.framesDecoded) * 1000) / (out.at - prev.at) : 0;
  }
  if (prev && out.at > prev.at) out.bitrate = ((out.bytes - prev.bytes) * 8 * 1000) / (out.at - prev.at);
  return out;
}

/** A bitrate in bit/s, as "1.2 Mbit/s" or "850 kbit/s". */
function rate(bps) {
  return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mbit/s` : `${Math.round(bps / 1e3)} kbit/s`;
}

/**
 * "1280×720 · 30 fps · 1.2 Mbit/s · RTT 3 ms · direct", and with the
 * host's `quality` report (adaptive quality) what its video aims at:
 * "· aims at 1.8 Mbit/s, 30 fps (path 1.8 Mbit/s)", or "(fixed)" when the
 * host does not adapt.
 */
export function statsText(s, quality = null) {
  if (!s) return 'Waiting for statistics…';
  const parts = [];
  if (s.width) parts.push(`${s.width}×${s.height}`);
  parts.push(`${Math.round(s.fps)} fps`);
  parts.push(rate(s.bitrate));
  if (s.rttMs !== null) parts.push(`RTT ${Math.round(s.rttMs)} ms`);
  if (s.path) parts.push(s.path);
  if (quality) {
    const why = !quality.adaptive ? ' (fixed)'
      : quality.estimateKbps !== null ? ` (path ${rate(quality.estimateKbps * 1e3)})` : '';
    const size = quality.scale > 1 ? `, 1/${quality.scale} size` : '';
    parts.push(`aims at ${rate(quality.bitrateKbps * 1e3)}, ${quality.fps} fps${size}${why}`);
  }
  return parts.join(' · ');
}
