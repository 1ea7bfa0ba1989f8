// The plain first-run page: a form over POST /v1/setup. Its script is a file of its own, so the page
// runs under a strict content security policy (no inline script, no inline style); its stylesheet,
// /setup.css, is built with the dashboard (web/public) and gives it the look of the sign-in page.
export const SETUP_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set up Chatsby Contacts</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/setup.css">
<script src="/setup.js" defer></script>
</head>
<body>
<main class="signin">
<h1>Set up Chatsby Contacts</h1>
<p id="intro">Create the owner of this installation and name your workspace.</p>
<noscript><p class="notice">This page needs JavaScript to create the owner.</p></noscript>
<form id="setup">
  <div class="control"><label for="workspace_name">Workspace name</label><input id="workspace_name" name="workspace_name" required maxlength="200" autocomplete="organization"></div>
  <div class="control"><label for="email">Email</label><input id="email" name="email" type="email" required maxlength="254" autocomplete="username"></div>
  <div class="control"><label for="password">Password</label><input id="password" name="password" type="password" required minlength="10" maxlength="1024" autocomplete="new-password" aria-describedby="password-hint"><p id="password-hint" class="hint">At least 10 characters, and not a common password.</p></div>
  <button type="submit" disabled>Create owner</button>
</form>
<p id="error" role="alert" class="error"></p>
<p id="status" role="status" aria-live="polite"></p>
<p id="next" hidden><a class="button" href="/">Sign in</a></p>
</main>
</body>
</html>
`;

export const SETUP_SCRIPT = `'use strict';
(() => {
  const form = document.getElementById('setup');
  const submit = form.querySelector('button[type="submit"]');
  const intro = document.getElementById('intro');
  const status = document.getElementById('status');
  const error = document.getElementById('error');
  const next = document.getElementById('next');
  const token = new URLSearchParams(location.search).get('token') || '';
  const fields = ['workspace_name', 'email', 'password'];
  const UNREACHABLE = 'The server could not be reached: check that it is running, then try again.';

  const say = (text) => { status.textContent = text; };
  const label = (field) => { const text = field.replace('_', ' '); return text.charAt(0).toUpperCase() + text.slice(1); };
  const fail = (text) => { error.textContent = text; };
  /** The form's work is over: what happened, and the way on. */
  const finish = (text, link, focus) => {
    form.hidden = true;
    intro.hidden = true;
    fail('');
    say(text);
    next.firstElementChild.textContent = link;
    next.hidden = false;
    if (focus) next.firstElementChild.focus();
  };
  const closed = (focus) => finish('Setup is done: an owner exists. Sign in instead.', 'Sign in', focus);
  const mark = (problems) => {
    for (const id of fields) {
      const input = document.getElementById(id);
      const bad = problems.some((p) => p.field === id);
      if (bad) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
    const first = problems.find((p) => fields.includes(p.field));
    if (first) document.getElementById(first.field).focus();
  };

  // The handler is there before anything is asked of the server: the form never submits itself
  // (that would put the password in the address).
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    fail('');
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    say('Creating the owner…');
    const body = { token, workspace_name: form.workspace_name.value, email: form.email.value, password: form.password.value };
    try {
      const res = await fetch('/v1/setup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const answer = await res.json().catch(() => ({}));
      if (res.ok) return finish('Done: you are the owner of ' + answer.workspace.name + ' and signed in.', 'Open your contacts', true);
      if (res.status === 410) return closed(true);
      say('');
      const problems = Array.isArray(answer.errors) ? answer.errors : [];
      mark(problems);
      if (res.status === 403) fail('This setup link does not work any more: it can be used once, within an hour. Restart the server to print a new one.');
      else if (res.status === 429) fail('Too many attempts. Wait a minute and try again.');
      else fail((problems.length ? problems.map((e) => (e.field ? label(e.field) + ' ' : '') + e.message).join('; ') : answer.detail) || 'Setup failed. Try again.');
    } catch {
      say('');
      fail(UNREACHABLE);
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  submit.disabled = false;

  if (!token) say('Open the setup link the server printed when it started (it carries a one-time token).');
  fetch('/v1/setup').then((r) => r.json()).then((state) => {
    if (state && state.needed === false) closed(false);
  }).catch(() => fail(UNREACHABLE));
})();
`;
