// The embeddable chat widget: <script src="https://your-host/widget.js" data-key="pk_..." async></script>
// It runs a conversation with the agent of the publishable key, shows the consent banner when the
// workspace requires consent, and offers the lead capture form. No framework; styles go through a
// constructed stylesheet inside a shadow root, so the host page's content security policy and styles
// neither block nor leak into it. The agent's replies are canned: this product records conversations.
(() => {
  const script = document.currentScript as HTMLScriptElement | null;
  const key = script?.dataset.key ?? '';
  if (!script || !key.startsWith('pk_')) return;
  const api = new URL(script.src).origin;
  const STORAGE = 'chatsby_visitor_id';

  interface Started {
    id: string;
    token: string;
    consent_required?: boolean;
    consent_text?: string | null;
  }

  const visitorId = (() => {
    try {
      let v = localStorage.getItem(STORAGE);
      if (!v) {
        v = 'v_' + Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
        localStorage.setItem(STORAGE, v);
      }
      return v;
    } catch {
      return undefined;
    }
  })();

  let conversation: Started | null = null;
  let consent: boolean | null = null;

  async function call(path: string, body: unknown): Promise<unknown> {
    const headers: Record<string, string> = { authorization: 'Bearer ' + key, 'content-type': 'application/json' };
    if (conversation) headers['x-conversation-token'] = conversation.token;
    const res = await fetch(api + path, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!res.ok) throw new Error('request failed: ' + String(res.status));
    return res.json();
  }

  async function ensureConversation(): Promise<Started> {
    conversation ??= (await call('/v1/conversations', { channel: 'widget', visitor_id: visitorId, page_url: location.href.slice(0, 2048) })) as Started;
    return conversation;
  }

  const host = document.createElement('div');
  host.id = 'chatsby-widget';
  const root = host.attachShadow({ mode: 'open' });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`
    :host { all: initial; position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; font: 14px/1.4 system-ui, sans-serif; color: #111; }
    button { font: inherit; cursor: pointer; border-radius: 6px; border: 1px solid #1d4ed8; padding: 6px 12px; background: #1d4ed8; color: #fff; }
    button.secondary { background: #fff; color: #1d4ed8; }
    button:focus-visible, input:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
    .panel { width: 320px; max-height: 520px; display: flex; flex-direction: column; gap: 8px; background: #fff; border: 1px solid #d1d5db; border-radius: 10px; padding: 12px; box-shadow: 0 8px 24px rgba(0,0,0,.15); }
    .log { overflow-y: auto; min-height: 120px; max-height: 220px; display: flex; flex-direction: column; gap: 6px; }
    .msg { padding: 6px 8px; border-radius: 8px; max-width: 85%; white-space: pre-wrap; word-wrap: break-word; }
    .user { align-self: flex-end; background: #dbeafe; }
    .agent { align-self: flex-start; background: #f3f4f6; }
    form { display: flex; flex-direction: column; gap: 6px; }
    label { display: flex; flex-direction: column; gap: 2px; font-size: 12px; }
    input { font: inherit; padding: 6px; border: 1px solid #9ca3af; border-radius: 6px; }
    .row { display: flex; gap: 6px; }
    .row input { flex: 1; }
    .banner { background: #fef3c7; border-radius: 8px; padding: 8px; display: flex; flex-direction: column; gap: 6px; }
    [hidden] { display: none !important; }
  `);
  root.adoptedStyleSheets = [sheet];

  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, string | boolean> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] => {
    const node = document.createElement(tag);
    Object.assign(node, props);
    node.append(...children);
    return node;
  };

  const open = el('button', { type: 'button', textContent: 'Chat with us' });
  const log = el('div', { className: 'log' });
  log.setAttribute('role', 'log');
  log.setAttribute('aria-live', 'polite');
  log.setAttribute('aria-label', 'Conversation');
  const text = el('input', { type: 'text', name: 'message', autocomplete: 'off' });
  const send = el('button', { type: 'submit', textContent: 'Send' });
  const chatForm = el('form', {}, el('label', {}, 'Your message', el('div', { className: 'row' }, text, send)));
  const bannerText = el('p');
  const accept = el('button', { type: 'button', textContent: 'Accept' });
  const decline = el('button', { type: 'button', className: 'secondary', textContent: 'Decline' });
  const banner = el('div', { className: 'banner', hidden: true }, el('strong', { textContent: 'Your details' }), bannerText, el('div', { className: 'row' }, accept, decline));
  banner.setAttribute('role', 'region');
  banner.setAttribute('aria-label', 'Consent');
  const nameInput = el('input', { type: 'text', name: 'name', autocomplete: 'name' });
  const emailInput = el('input', { type: 'email', name: 'email', autocomplete: 'email' });
  const phoneInput = el('input', { type: 'tel', name: 'phone', autocomplete: 'tel' });
  const leadForm = el('form', { hidden: true },
    el('strong', { textContent: 'Leave your details and we will get back to you' }),
    el('label', {}, 'Name', nameInput), el('label', {}, 'Email', emailInput), el('label', {}, 'Phone', phoneInput),
    el('button', { type: 'submit', textContent: 'Send my details' }));
  leadForm.setAttribute('aria-label', 'Lead capture');
  const status = el('p');
  status.setAttribute('role', 'status');
  const close = el('button', { type: 'button', className: 'secondary', textContent: 'Close' });
  const panel = el('div', { className: 'panel', hidden: true }, log, chatForm, banner, leadForm, status, close);
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', 'Chat');
  root.append(open, panel);

  const say = (role: 'user' | 'agent', words: string) => {
    log.append(el('div', { className: 'msg ' + role, textContent: words }));
    log.scrollTop = log.scrollHeight;
  };

  function offerForm(c: Started) {
    if (c.consent_required && consent === null) {
      bannerText.textContent = c.consent_text || 'May we store the details you give us, to follow up on this conversation?';
      banner.hidden = false;
      accept.focus();
      return;
    }
    if (consent === false) return;
    leadForm.hidden = false;
  }

  open.addEventListener('click', () => void (async () => {
    panel.hidden = false;
    open.hidden = true;
    text.focus();
    try {
      await ensureConversation();
      if (!log.childElementCount) say('agent', 'Hi! How can we help you today?');
    } catch {
      status.textContent = 'The chat is not available right now.';
    }
  })());
  close.addEventListener('click', () => {
    panel.hidden = true;
    open.hidden = false;
    open.focus();
  });

  chatForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void sendMessage();
  });
  async function sendMessage() {
    const words = text.value.trim();
    if (!words) return;
    text.value = '';
    say('user', words);
    try {
      const c = await ensureConversation();
      await call(`/v1/conversations/${c.id}/messages`, { role: 'user', text: words });
      const reply = 'Thanks! Someone from our team will follow up. Leave your details below so we can reach you.';
      say('agent', reply);
      await call(`/v1/conversations/${c.id}/messages`, { role: 'agent', text: reply });
      offerForm(c);
    } catch {
      status.textContent = 'Your message could not be sent. Try again.';
    }
  }

  accept.addEventListener('click', () => {
    consent = true;
    banner.hidden = true;
    if (conversation) offerForm(conversation);
    nameInput.focus();
  });
  decline.addEventListener('click', () => {
    consent = false;
    banner.hidden = true;
    status.textContent = 'Understood: we will not store your details.';
  });

  leadForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void sendDetails();
  });
  async function sendDetails() {
    const c = await ensureConversation();
    const body: Record<string, unknown> = { action: 'lead_capture', name: nameInput.value, email: emailInput.value, phone: phoneInput.value };
    if (consent !== null) body.consent = { given: consent, at: new Date().toISOString() };
    try {
      const answer = (await call(`/v1/conversations/${c.id}/identify`, body)) as { identified: boolean };
      leadForm.hidden = answer.identified;
      status.textContent = answer.identified ? 'Thank you, we have your details.' : 'Your details were not stored.';
    } catch {
      status.textContent = 'Please check your details and try again.';
    }
  }

  if (document.body) document.body.append(host);
  else document.addEventListener('DOMContentLoaded', () => document.body.append(host));
})();
