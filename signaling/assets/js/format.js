// Pure formatting: feed events as sentences, times, durations. No DOM.

const PERMISSION = { owner: 'owner', control: 'control', view: 'view only' };

/** "12 min", "2 h 5 min", "40 s". */
export function duration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** "just now", "5 min ago", "3 h ago", or a date. */
export function ago(at, now = Date.now()) {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(at).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

const SHARE_SPANS = { '1h': 3_600_000, '1d': 86_400_000, '1w': 7 * 86_400_000 };

/**
 * When a share chosen in the dialog ends, as RFC 3339, or null for no end.
 * `choice` is never, 1h, 1d, 1w or custom; `custom` is a datetime-local
 * value (local time). A custom choice without a time is an error.
 */
export function shareEnd(choice, custom, now) {
  if (choice === 'never') return null;
  if (choice in SHARE_SPANS) return new Date(now + SHARE_SPANS[choice]).toISOString();
  const at = custom ? new Date(custom) : null;
  if (!at || Number.isNaN(at.getTime())) throw new Error('Choose when the share ends.');
  if (at.getTime() <= now) throw new Error('The end of the share must be in the future.');
  return at.toISOString();
}

/** "until 7 Dec, 14:30" for a share's end. */
export function untilText(at) {
  return `until ${new Date(at).toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })}`;
}

export function permissionLabel(p) {
  return PERMISSION[p] ?? p;
}

/** One feed event as a sentence, with real names and no markup. */
export function describe(e) {
  const who = e.actor ?? 'someone';
  const dev = e.device_name ?? 'a device';
  const perm = e.permission ? ` (${permissionLabel(e.permission)})` : '';
  switch (e.kind) {
    case 'account_created': return `${who} created an account`;
    case 'login_failed': return `Failed sign-in to ${e.target_user ?? 'an account'}${e.detail ? ` ${e.detail}` : ''}`;
    case 'device_enrolled': return `${who} added ${dev}`;
    case 'device_online': return `${dev} came online`;
    case 'device_offline': return `${dev} went offline`;
    case 'device_renamed': return `${who} renamed ${dev}${e.detail ? ` (${e.detail})` : ''}`;
    case 'device_removed': return `${who} removed ${dev}`;
    case 'share_granted': return `${who} shared ${dev} with ${e.target_user}${perm}`;
    case 'share_revoked': return `${who} stopped sharing ${dev} with ${e.target_user}`;
    case 'share_expired': return `The share of ${dev} with ${e.target_user} expired`;
    case 'session_started': return `${who} connected to ${dev}${perm}`;
    case 'webhook_disabled': return `A webhook was turned off: ${e.detail ?? 'too many failed deliveries'}`;
    case 'consent_allowed': return `The remote user at ${dev} allowed ${who}${perm}`;
    case 'consent_denied': return `The remote user at ${dev} declined ${who}${perm}${e.detail === 'no answer' ? ' (no answer)' : ''}`;
    case 'consent_ended': return `The remote user at ${dev} disconnected ${who}${perm}`;
    case 'consent_changed': return `${who} changed consent on ${dev}${e.detail ? ` (${e.detail})` : ''}`;
    // The server words these itself ("bob sent report.pdf (2.1 MB) to office-pc").
    case 'file_sent':
    case 'file_received':
    case 'file_failed':
    case 'shared_file_changed':
      return e.detail ?? `${e.kind.replaceAll('_', ' ')}: ${dev}`;
    case 'session_ended': {
      const len = e.duration_ms !== null && e.duration_ms !== undefined ? `, ${duration(e.duration_ms)}` : '';
      const why = e.detail ? `: ${e.detail}` : '';
      return `${who} disconnected from ${dev}${perm}${len}${why}`;
    }
    default: return `${e.kind.replaceAll('_', ' ')}${e.device_name ? `: ${dev}` : ''}`;
  }
}

/**
 * What a session end reason means to the user; a refusal says the host's
 * own words (`detail`) when it gave some.
 */
export function endMessage(reason, detail) {
  if (reason === 'rejected' && typeof detail === 'string' && detail.trim()) {
    return `The remote PC refused the session: ${detail.trim().replace(/\.+$/, '')}.`;
  }
  switch (reason) {
    case 'viewer_closed': return 'You disconnected.';
    case 'host_closed': return 'The remote PC ended the session.';
    case 'rejected': return 'The remote PC refused the session.';
    case 'connection_failed': return 'The connection to the remote PC failed.';
    case 'peer_gone': return 'The remote PC disconnected.';
    case 'revoked': return 'Your access to this device was revoked.';
    case 'share_expired': return 'Your access to this device has expired.';
    case 'device_removed': return 'The device was removed.';
    case 'server_shutdown': return 'The server is shutting down.';
    case 'declined': return 'The remote user declined';
    case 'remote_user_ended': return 'The remote user ended the session';
    default: return `The session ended (${reason}).`;
  }
}

/** What a session_request error means to the user. */
export function requestError(code, message) {
  switch (code) {
    case 'offline': return 'The device is offline.';
    case 'not_found': return 'You do not have access to this device, or it no longer exists.';
    case 'forbidden': return 'Too many sessions are open in this tab.';
    case 'rate_limited': return 'Too many requests; try again in a moment.';
    default: return message || 'The server refused the session.';
  }
}
