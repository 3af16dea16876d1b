import type { CodecSession } from './sessions.js';

/**
 * The codec server's sign-in page (`GET /codec/session`): a form that posts an API key or a signed
 * token to the same path, and once signed in, who and until when, with a sign-out button. No
 * script; the answer's Content-Security-Policy allows none.
 */
const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · referral-engine codec server</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; color: #1d2733; }
h1 { font-size: 1.3rem; }
label, input, button { display: block; width: 100%; box-sizing: border-box; }
input { font: inherit; padding: .5rem; margin: .25rem 0 1rem; }
button { font: inherit; padding: .5rem; cursor: pointer; }
.error { color: #a3161a; }
.note { color: #56606b; font-size: .9rem; }
</style>
</head>
<body>
<h1>${escape(title)}</h1>
${body}
</body>
</html>
`;
}

export function signInPage(action: string, error?: string): string {
  return layout(
    'Sign in to decode payloads',
    `${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<p>The Temporal Web UI shows workflow payloads in clear only for operators, admins and the agencies party to a referral. Sign in with your API key or signed token; every decode is audited.</p>
<form method="post" action="${escape(action)}">
<label for="credential">API key or token</label>
<input id="credential" name="credential" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>
<p class="note">Then, in the Web UI's codec server settings, turn on “Include cross-origin credentials”, and open the UI on the same host name as this page (127.0.0.1 or localhost, not one for each).</p>`,
  );
}

export function signedInPage(session: CodecSession, action: string, uiOrigin: string): string {
  const p = session.principal;
  return layout(
    'Signed in',
    `<p>Signed in as <strong>${escape(p.id)}</strong> (${escape(p.agency)}, ${escape(p.role)}) until ${escape(new Date(session.expiresAt).toISOString())}.</p>
<p>Return to the <a href="${escape(uiOrigin)}">Temporal Web UI</a>, with “Include cross-origin credentials” on in its codec server settings.</p>
<form method="post" action="${escape(action)}">
<input type="hidden" name="action" value="sign-out">
<button type="submit">Sign out</button>
</form>`,
  );
}

export function signedOutPage(action: string): string {
  return layout('Signed out', `<p>The session has ended.</p><p><a href="${escape(action)}">Sign in again</a></p>`);
}
