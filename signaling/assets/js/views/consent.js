// The owner's consent settings of a device: what the person at the remote
// PC must do before (prompt) or sees during (notify) a session, for the
// owner's own sessions and for people the device is shared with;
// whether sessions hear the PC's sound; and whether view sessions may
// copy from the PC's clipboard.

import { api } from '../api.js';
import { dialog, h, notice } from '../dom.js';

/** The policies, least strict first, with their labels. */
export const CONSENT_POLICIES = [
  ['unattended', 'Unattended: start at once'],
  ['notify', 'Notify: show who is connected, with Disconnect'],
  ['prompt', 'Prompt: ask to Allow or Deny first'],
];

function policySelect(id, value) {
  const select = h('select', { id },
    ...CONSENT_POLICIES.map(([v, label]) => h('option', { value: v }, label)));
  select.value = value;
  return select;
}

/** The consent dialog for `device`; `done` runs after a save. */
export function consentDialog(device, done) {
  const owner = policySelect('consent-owner', device.consent_owner || 'unattended');
  const shared = policySelect('consent-shared', device.consent_shared || 'unattended');
  // The owner's switch for the PC's sound in sessions (on unless turned off).
  const sound = h('input', { type: 'checkbox', id: 'device-sound', checked: device.sound !== false });
  // The owner's switch that lets view sessions copy from the PC's
  // clipboard (off unless turned on).
  const viewMayCopy = h('input', { type: 'checkbox', id: 'device-view-may-copy', checked: device.view_may_copy === true });
  const msg = notice();
  const row = (label, id, select) =>
    h('div', { className: 'field' }, h('label', { htmlFor: id }, label), select);
  const form = h('form', { method: 'dialog' },
    h('p', {}, 'What the person at the remote PC sees before or during a session. The PC\'s own settings may ask for more.'),
    row('Your own sessions', 'consent-owner', owner),
    row('Sessions of people you share with', 'consent-shared', shared),
    h('div', { className: 'field check' }, sound, h('label', { htmlFor: 'device-sound' }, 'Sessions hear this PC\'s sound')),
    h('div', { className: 'field check' }, viewMayCopy, h('label', { htmlFor: 'device-view-may-copy' }, 'View sessions may copy')),
    msg,
    h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'primary' }, 'Save')));
  const d = dialog(`Consent on ${device.name}`, form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.updateDevice(device.id, {
        consent_owner: owner.value,
        consent_shared: shared.value,
        sound: sound.checked,
        view_may_copy: viewMayCopy.checked,
      });
      d.close();
      done();
    } catch (err) {
      msg.show(err.message);
    }
  });
}
