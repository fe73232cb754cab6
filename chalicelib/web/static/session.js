// The signed-in session: the token, and the OAuth 2.0 authorization code flow with PKCE
// (RFC 7636, S256) that gets it from the identity provider. No implicit flow: tokens
// never travel in an address; the code does, and is worth nothing without the verifier,
// which stays in this tab's sessionStorage.

const TOKEN_KEY = "tropical.token";
const PENDING_KEY = "tropical.signin"; // { state, verifier, returnTo } of a sign-in under way
const BASE = document.querySelector('meta[name="api-base"]')?.content || "";

let rolesClaim = "roles";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Read roles from this claim (ROLES_CLAIM: `cognito:groups` on a Cognito stage). */
export function useRolesClaim(name) {
  rolesClaim = name || "roles";
}

function claimAt(claims, name) {
  if (name in claims || !name.includes(".")) return claims[name];
  return name.split(".").reduce((value, step) => (value && typeof value === "object" ? value[step] : undefined), claims);
}

/** The claims of the current token (not verified: the API does that), or null. */
export function who() {
  const value = token();
  if (!value) return null;
  try {
    const part = value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part));
    const roles = claimAt(claims, rolesClaim) ?? claims.roles ?? [];
    return { user: claims.sub, roles: [].concat(roles), expires: claims.exp };
  } catch {
    return null;
  }
}

/** A token handed over in a link (`#token=<jwt>`, e.g. in a confirmation message) is kept
 * for this browser session and removed from the address, so it is neither bookmarked nor
 * shown. */
export function takeTokenFromFragment() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const value = fragment.get("token");
  if (!value) return;
  setToken(value);
  history.replaceState(null, "", window.location.pathname + window.location.search);
}

function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

/** Where the provider sends the browser back: the registered console address (the
 * stack's ConsoleUrl), else this site's /app. */
function redirectUri(settings) {
  return settings.redirectUrl || `${window.location.origin}${BASE}/app`;
}

/** Go to the provider's authorization endpoint; `loginHint` names who signs in (the
 * local issuer approves a demo person at once). Comes back to this page signed in. */
export async function beginSignIn(settings, loginHint) {
  const verifier = randomText(48); // 64 characters, within RFC 7636's 43-128
  const state = randomText(24);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const returnTo = window.location.pathname + window.location.search;
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ state, verifier, returnTo }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: settings.clientId,
    redirect_uri: redirectUri(settings),
    scope: settings.scope,
    state,
    code_challenge: base64url(digest),
    code_challenge_method: "S256",
  });
  if (loginHint) query.set("login_hint", loginHint);
  window.location.assign(`${settings.authorizeUrl}?${query}`);
}

/** When this page is the provider's answer (`?code=&state=` or `?error=`): check the
 * state, exchange the code and its verifier at the token endpoint, keep the access token
 * and go back to the page the sign-in started from. False when it is not an answer;
 * throws an Error saying what went wrong otherwise. */
export async function finishSignIn(settings) {
  const answer = new URLSearchParams(window.location.search);
  const code = answer.get("code");
  const error = answer.get("error");
  if (!code && !error) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, "", window.location.pathname); // the code leaves the address bar
  if (error) throw new Error(`Sign-in failed: ${answer.get("error_description") || error}. Please sign in again.`);
  if (!pending || answer.get("state") !== pending.state) {
    throw new Error("Sign-in failed: the answer does not belong to a sign-in started in this tab. Please sign in again.");
  }
  let reply;
  try {
    reply = await fetch(settings.tokenUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri(settings),
        client_id: settings.clientId,
        code_verifier: pending.verifier,
      }),
    });
  } catch {
    throw new Error("Sign-in failed: the identity provider cannot be reached. Please try again.");
  }
  const tokens = await reply.json().catch(() => ({}));
  if (!reply.ok || !tokens.access_token) {
    throw new Error(`Sign-in failed: ${tokens.error_description || tokens.error || `HTTP ${reply.status}`}. Please sign in again.`);
  }
  // the access token is the one meant for APIs (Cognito: "The purpose of the access token
  // is to authorize API operations"); the id token describes the user to this page only
  setToken(tokens.access_token);
  const back = /^\/(?!\/)/.test(pending.returnTo || "") ? pending.returnTo : `${BASE}/app`;
  window.location.replace(back);
  return true;
}

/** Forget the token; with a provider, end its session too and come back here. */
export function signOut(settings) {
  setToken(null);
  sessionStorage.removeItem(PENDING_KEY);
  if (settings?.signIn === "code" && settings.signOutUrl) {
    const back = redirectUri(settings);
    // Cognito's /logout takes client_id + logout_uri, OpenID Connect's end_session
    // endpoint post_logout_redirect_uri: each ignores the other's
    const query = new URLSearchParams({ client_id: settings.clientId, logout_uri: back, post_logout_redirect_uri: back });
    window.location.assign(`${settings.signOutUrl}?${query}`);
  } else {
    window.location.reload();
  }
}
