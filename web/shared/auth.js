// Who is signed in. The id_token lives in sessionStorage (this tab only) and goes to the API as a
// bearer token. Two ways to get one, chosen by window.ONESTOP_CONFIG (web/shared/config.js):
//  - the local stack's identity provider: POST /_local/token {sub, groups, name} → {id_token};
//  - Cognito's hosted UI when cognitoDomain is set: "code" (authorization code + PKCE, exchanged at
//    /oauth2/token) or "token" (implicit: id_token in the URL fragment).

const TOKEN = "onestop.id_token";
const PENDING = "onestop.oauth"; // {state, verifier, returnTo} while the hosted UI has the person

function config() {
  return window.ONESTOP_CONFIG || {};
}

export function usesHostedUi() {
  return Boolean(config().cognitoDomain);
}

function b64urlDecode(part) {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

function b64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The claims of a JWT (not verified here: the API gateway verifies every call). */
export function claims(token) {
  try {
    return JSON.parse(b64urlDecode(token.split(".")[1]));
  } catch {
    return null;
  }
}

/** Cognito lists groups as an array; keep to strings either way. */
function groupsOf(c) {
  const groups = c["cognito:groups"] || [];
  return Array.isArray(groups) ? groups.map(String) : String(groups).replace(/[[\]]/g, "").split(/[\s,]+/);
}

/** {token, sub, name, groups} of the person signed in, or null (also when the token has expired). */
export function session() {
  const token = sessionStorage.getItem(TOKEN);
  const c = token && claims(token);
  if (!c || (c.exp && c.exp * 1000 < Date.now())) return null;
  return { token, sub: c.sub, name: c.name || c["cognito:username"] || c.email || c.sub, groups: groupsOf(c) };
}

export function currentToken() {
  return session()?.token || null;
}

export function signOut() {
  sessionStorage.removeItem(TOKEN);
}

/** Sign in through the local stack's identity provider. */
export async function signInLocal(name, role) {
  const base = (config().apiBase || "").replace(/\/+$/, "");
  const response = await fetch(`${base}/_local/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    // A clerk signs in at the service window: its own app client, the channel the api records.
    body: JSON.stringify({ sub: name, groups: [role], name, client: role === "clerk" ? "service_window" : undefined }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.id_token) throw new Error(body.message || `HTTP ${response.status}`);
  sessionStorage.setItem(TOKEN, body.id_token);
  return session();
}

function redirectUri() {
  return config().redirectUri || window.location.origin + window.location.pathname;
}

/** Send the person to Cognito's hosted UI; they come back to this page (completeHostedSignIn). */
export async function signInHosted() {
  const cfg = config();
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const pending = { state, returnTo: window.location.href };
  const params = new URLSearchParams({
    response_type: cfg.responseType === "token" ? "token" : "code",
    client_id: cfg.clientId,
    redirect_uri: redirectUri(),
    scope: cfg.scope || "openid",
    state,
  });
  if (params.get("response_type") === "code") {
    pending.verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(pending.verifier));
    params.set("code_challenge", b64url(new Uint8Array(digest)));
    params.set("code_challenge_method", "S256");
  }
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  window.location.assign(`${cfg.cognitoDomain.replace(/\/+$/, "")}/oauth2/authorize?${params}`);
}

/**
 * On load: if the hosted UI just sent the person back (#id_token=… or ?code=…), keep the token and
 * tidy the URL. Resolves to true when a sign-in completed; throws on a reply that is not ours.
 */
export async function completeHostedSignIn() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const query = new URLSearchParams(window.location.search);
  let reply = null;
  if (fragment.has("id_token") || fragment.has("error")) reply = fragment;
  else if (query.has("code") || query.has("error")) reply = query;
  if (!reply) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  window.history.replaceState(null, "", window.location.pathname);
  if (!pending || reply.get("state") !== pending.state) throw new Error("state");
  if (reply.has("error")) throw new Error(reply.get("error_description") || reply.get("error"));
  let token = reply.get("id_token");
  if (!token) {
    const cfg = config();
    const response = await fetch(`${cfg.cognitoDomain.replace(/\/+$/, "")}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: cfg.clientId,
        code: reply.get("code"),
        redirect_uri: redirectUri(),
        code_verifier: pending.verifier,
      }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || !body.id_token) throw new Error(body.error || `HTTP ${response.status}`);
    token = body.id_token;
  }
  sessionStorage.setItem(TOKEN, token);
  // Back to where the person was (e.g. #app=…) when that was this page.
  const back = new URL(pending.returnTo);
  if (back.pathname === window.location.pathname) window.history.replaceState(null, "", back.pathname + back.search + back.hash);
  return true;
}
