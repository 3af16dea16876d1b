// Shared by the operator console and the partner page: DOM building that never parses HTML (every
// piece of data becomes a text node), API calls with the session's key, and time formatting.

/**
 * Creates an element. `attrs`: `class`, `text` (textContent), `on<event>` handlers, `data-*`,
 * and plain attributes (set with setAttribute, so never parsed as HTML). Children: nodes or
 * strings (as text nodes); null/undefined/false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = String(value);
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'href') {
      const url = safeUrl(value);
      if (url) el.setAttribute('href', url);
    } else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Only http(s) and same-origin links: nothing from the data can become a javascript: URL. */
export function safeUrl(value) {
  try {
    const url = new URL(String(value), location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

// --- API ---

/** The API key of this tab's session (sessionStorage: gone when the tab closes). */
export function keyStore(name) {
  return {
    get: () => sessionStorage.getItem(name) ?? '',
    set: (key) => sessionStorage.setItem(name, key),
    clear: () => sessionStorage.removeItem(name),
  };
}

export class ApiError extends Error {
  constructor(status, code, message, problems) {
    super(message);
    this.status = status;
    this.code = code;
    this.problems = problems ?? [];
  }
}

/** Calls the API with `Authorization: Bearer <key>`; an error answer becomes an ApiError with the API's message. */
export async function api(key, method, path, body) {
  const headers = { authorization: `Bearer ${key}`, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `the API did not answer (${err instanceof Error ? err.message : String(err)})`);
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const error = json?.error;
    throw new ApiError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? `${res.status} ${res.statusText}`, error?.problems);
  }
  return json;
}

/** One line for an ApiError: "403 FORBIDDEN: reason" plus each invalid field. */
export function describeError(err) {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  const head = err.status ? `${err.status} ${err.code}: ${err.message}` : err.message;
  const fields = err.problems.map((p) => `${p.field}: ${p.message}`);
  return fields.length > 0 ? `${head} (${fields.join('; ')})` : head;
}

// --- sign-in ---

/**
 * Shows the sign-in form in `container` and resolves with the key the user entered. The key is
 * checked against /whoami before it is kept; `message` explains why the form is shown again.
 */
export function askForKey(container, { title, hint, message }) {
  return new Promise((resolve) => {
    const input = h('input', { type: 'password', id: 'api-key', name: 'api-key', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'API key' });
    const error = h('p', { class: 'alert alert-error', role: 'alert', hidden: !message, text: message ?? '' });
    const button = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });
    // What this deployment adds (a development stack: where its keys are), from /console/config.
    const keysHint = h('p', { class: 'muted', id: 'signin-keys', hidden: true });
    fetch('/console/config', { cache: 'no-store' })
      .then((res) => (res.ok ? res.json() : {}))
      .then((config) => {
        if (typeof config.signInHint === 'string' && config.signInHint) {
          keysHint.textContent = config.signInHint;
          keysHint.hidden = false;
        }
      })
      .catch(() => undefined);
    const form = h(
      'form',
      {
        class: 'signin card',
        id: 'signin',
        onsubmit: async (event) => {
          event.preventDefault();
          const key = input.value.trim();
          if (!key) return;
          button.disabled = true;
          try {
            const who = await api(key, 'GET', '/whoami');
            resolve({ key, who });
          } catch (err) {
            error.hidden = false;
            error.textContent = describeError(err);
            button.disabled = false;
            input.select();
          }
        },
      },
      h('h2', { text: title }),
      h('p', { class: 'muted', text: hint }),
      keysHint,
      h('label', { for: 'api-key', text: 'API key' }),
      input,
      error,
      h('div', { class: 'actions' }, button),
    );
    fill(container, form);
    input.focus();
  });
}

// --- time ---

const pad = (n) => String(n).padStart(2, '0');

/** `2026-11-24 09:00` in the browser's time zone. */
/**
 * Restores the tab's session (checking the stored key with /whoami) or asks for a key.
 * Returns `{ key, who }` and keeps the key in the tab's session storage.
 */
export async function signIn(container, store, { hint, message }) {
  const stored = store.get();
  let session;
  if (stored && !message) {
    try {
      session = { key: stored, who: await api(stored, 'GET', '/whoami') };
    } catch (err) {
      store.clear();
      message = describeError(err);
    }
  }
  session ??= await askForKey(container, { title: 'Sign in', hint, message });
  store.set(session.key);
  return session;
}

export function formatTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** `hh:mm:ss` now. */
export function clock(date = new Date()) {
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A duration in words: `3 d 4 h`, `5 h 10 min`, `12 min`. */
export function duration(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return mins > 0 ? `${hours} h ${mins} min` : `${hours} h`;
  return mins > 0 ? `${mins} min` : '< 1 min';
}

/** `in 5 h` / `overdue 2 h` for a deadline; `3 d ago` for a past event. */
export function untilDeadline(iso, now = Date.now()) {
  const ms = Date.parse(iso) - now;
  if (Number.isNaN(ms)) return '';
  return ms >= 0 ? `in ${duration(ms)}` : `overdue ${duration(ms)}`;
}

export function ago(iso, now = Date.now()) {
  const ms = now - Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  return ms < 60_000 ? 'just now' : `${duration(ms)} ago`;
}

/** `IN_PROGRESS` → `In progress`; `FRAUDULENT_JOB_AD` → `Fraudulent job ad`. */
export function label(code) {
  if (!code) return '—';
  const text = String(code).replace(/[_:]+/g, ' ').toLowerCase();
  return text.charAt(0).toUpperCase() + text.slice(1);
}
