// The plain first-run page: a form over POST /v1/setup. Its script is a file of its own, so the page
// runs under a strict content security policy (no inline script).
export const SETUP_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Set up Chatsby Contacts</title>
<link rel="icon" href="data:,">
<script src="/setup.js" defer></script>
</head>
<body>
<main>
<h1>Set up Chatsby Contacts</h1>
<p id="intro">Create the owner of this installation and name your workspace.</p>
<form id="setup">
  <p><label for="workspace_name">Workspace name</label><br><input id="workspace_name" name="workspace_name" required maxlength="200" autocomplete="organization"></p>
  <p><label for="email">Email</label><br><input id="email" name="email" type="email" required autocomplete="username"></p>
  <p><label for="password">Password</label><br><input id="password" name="password" type="password" required minlength="10" autocomplete="new-password"></p>
  <p><button type="submit">Create owner</button></p>
  <p id="status" role="status" aria-live="polite"></p>
</form>
</main>
</body>
</html>
`;

export const SETUP_SCRIPT = `'use strict';
document.addEventListener('DOMContentLoaded', async () => {
  const form = document.getElementById('setup');
  const status = document.getElementById('status');
  const token = new URLSearchParams(location.search).get('token') || '';
  const state = await fetch('/v1/setup').then((r) => r.json()).catch(() => ({ needed: true }));
  if (!state.needed) {
    form.hidden = true;
    document.getElementById('intro').textContent = 'Setup is done: an owner exists. Sign in instead.';
    return;
  }
  if (!token) status.textContent = 'Open the setup link the server printed when it started (it carries a one-time token).';
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    status.textContent = 'Creating…';
    const body = { token, workspace_name: form.workspace_name.value, email: form.email.value, password: form.password.value };
    const res = await fetch('/v1/setup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    if (res.ok) {
      form.hidden = true;
      status.textContent = 'Done: you are the owner of ' + answer.workspace.name + ' and signed in.';
    } else {
      status.textContent = (answer.errors && answer.errors.length ? answer.errors.map((e) => e.field + ' ' + e.message).join('; ') : answer.detail) || 'Setup failed.';
    }
  });
});
`;
