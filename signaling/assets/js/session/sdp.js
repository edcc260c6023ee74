// Pure SDP edits for the answer this page sends to the host.

/**
 * The answer with this browser as the DTLS server (`a=setup:passive`), so
 * the host opens the handshake.
 *
 * Chromium, as ICE-controlled side, finds the path usable a moment before
 * the host (which still has to nominate it) and, as DTLS client, sends its
 * ClientHello at once; the host's WebRTC stack drops DTLS that arrives
 * before its own ICE says connected, and Chromium repeats it only after
 * 50 ms. As server, Chromium keeps a ClientHello that comes early until its
 * side is ready. The answerer may choose either role (RFC 8842, section
 * 5.3); the host offers `actpass`. A re-answer keeps the role it has.
 */
export function asDtlsServer(sdp) {
  return sdp.replace(/^a=setup:active\r?$/gm, (line) => line.replace('active', 'passive'));
}
