// Sign in and sign up. One form; a link switches between the two modes.

import { api } from '../api.js';
import { field, h, notice, replace } from '../dom.js';
import { secondStepForm } from './secondstep.js';

export function signInView(root, onSignedIn) {
  let signUp = false;
  const username = field('Username', { name: 'username', autocomplete: 'username', required: true, maxLength: 32 });
  const password = field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const heading = h('h1', {}, 'Sign in to Meshdesk');
  const submit = h('button', { type: 'submit', className: 'primary wide' }, 'Sign in');
  const hint = h('p', { className: 'hint' });
  const msg = notice();
  const toggle = h('button', { type: 'button', className: 'link' });
  const render = () => {
    heading.textContent = signUp ? 'Create your Meshdesk account' : 'Sign in to Meshdesk';
    submit.textContent = signUp ? 'Create account' : 'Sign in';
    password.input.autocomplete = signUp ? 'new-password' : 'current-password';
    hint.textContent = signUp ? 'Usernames use letters, digits, dots, dashes and underscores. Passwords need at least 8 characters.' : '';
    hint.hidden = !signUp;
    toggle.textContent = signUp ? 'I already have an account' : 'Create an account';
    msg.show(null);
  };
  toggle.addEventListener('click', () => {
    signUp = !signUp;
    render();
  });
  const form = h('form', { className: 'card auth', noValidate: true }, heading, username, password, hint, msg, submit,
    h('p', { className: 'switch' }, toggle));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const u = username.input.value.trim();
    const p = password.input.value;
    if (!u || !p) {
      msg.show('Enter your username and password.');
      (u ? password : username).input.focus();
      return;
    }
    submit.disabled = true;
    try {
      if (signUp) await api.signUp(u, p);
      await api.signIn(u, p);
      onSignedIn();
    } catch (err) {
      if (err.status === 401 && err.secondFactor?.length) {
        const step = secondStepForm(u, p, err.secondFactor, onSignedIn, () => signInView(root, onSignedIn));
        form.replaceWith(step);
        step.focusFirst();
        return;
      }
      msg.show(err.status === 401 ? 'Wrong username or password.' : err.message);
      password.input.select();
    } finally {
      submit.disabled = false;
    }
  });
  render();
  replace(root, h('div', { className: 'center' }, h('div', { className: 'brand' }, h('span', { className: 'logo', attrs: { 'aria-hidden': 'true' } }), 'Meshdesk'), form));
  username.input.focus();
}
