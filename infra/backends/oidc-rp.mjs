// An independent relying party for the test command: a small web application that signs
// people in through Kagiya with openid-client (a certified relying-party library this
// project did not write). TestOpenIDClientRelyingParty (infra/local) starts it, tells it
// the issuer and two clients (POST /config), and drives a browser through /start?case=...;
// each case's page lists its checks, one a line ("ok ..." or "FAIL ..."), then "done".
import http from "node:http";
import * as client from "openid-client";

let base = "";
let app = null; // the client the person signs in to
let other = null; // another client of the same tenant
let flow = null; // the authorization request under way
const insecure = { execute: [client.allowInsecureRequests] }; // the local server is http

const page = (res, lines) => {
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><title>RP</title><pre id="result">${lines.map(esc).join("\n")}</pre>` +
    (flow && flow.logout ? `<a id="logout" href="${esc(flow.logout)}">logout</a>` : ""));
};

// failure is the OAuth error code a call was refused with ("" if it succeeded).
const failure = async (p) => {
  try { await p; return ""; } catch (e) { return e.error || e.code || String(e); }
};

async function callback(url) {
  const out = [];
  const check = (name, ok, detail) => out.push(`${ok ? "ok" : "FAIL"} ${name}${detail === undefined ? "" : ": " + JSON.stringify(detail)}`);
  const params = { pkceCodeVerifier: flow.verifier, expectedNonce: flow.nonce, expectedState: flow.state };
  if (flow.maxAge !== undefined) params.maxAge = flow.maxAge;

  if (flow.case === "parallel") {
    const all = await Promise.allSettled(Array.from({ length: 8 }, () => client.authorizationCodeGrant(app, url, params)));
    const won = all.filter((r) => r.status === "fulfilled");
    check("8 parallel exchanges of one code: exactly one succeeds", won.length === 1, won.length);
    check("the others are invalid_grant", all.every((r) => r.status === "fulfilled" || r.reason.error === "invalid_grant"),
      all.filter((r) => r.status === "rejected").map((r) => r.reason.error));
    if (won.length === 1) {
      const t = won[0].value;
      check("the winner's refresh token died with the replay", await failure(client.refreshTokenGrant(app, t.refresh_token)) === "invalid_grant");
    }
    return out;
  }

  const tokens = await client.authorizationCodeGrant(app, url, params); // ID token, nonce, PKCE, state checked by the library
  const claims = tokens.claims();
  check("ID token: sub, auth_time, amr", claims.sub && typeof claims.auth_time === "number" && Array.isArray(claims.amr), claims.amr);
  const info = await client.fetchUserInfo(app, tokens.access_token, claims.sub);
  if (flow.case === "openid-only") {
    check("userinfo of a token granted only openid: no email, no username", info.email === undefined && info.preferred_username === undefined, info);
    return out;
  }
  check("userinfo by scope: email", info.email === claims.email && !!info.email, info.email);
  if (flow.case !== "full") {
    out.push(`auth_time ${claims.auth_time}`);
    return out;
  }
  const refreshed = await client.refreshTokenGrant(app, tokens.refresh_token);
  check("refresh rotates", !!refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
  check("a used refresh token is invalid_grant", await failure(client.refreshTokenGrant(app, tokens.refresh_token)) === "invalid_grant");
  const own = await client.tokenIntrospection(app, refreshed.access_token);
  check("introspection by the token's client", own.active === true && own.client_id === app.clientMetadata().client_id, own.client_id);
  const theirs = await client.tokenIntrospection(other, refreshed.access_token);
  check("introspection by another client: inactive", theirs.active === false, theirs);
  await client.tokenRevocation(app, refreshed.refresh_token); // no hint, as libraries send it
  check("a revoked refresh token is dead", await failure(client.refreshTokenGrant(app, refreshed.refresh_token)) === "invalid_grant");
  flow.logout = client.buildEndSessionUrl(app, { id_token_hint: tokens.id_token, post_logout_redirect_uri: base + "/callback" }).href;
  return out;
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, base);
  try {
    if (req.method === "POST" && url.pathname === "/config") {
      let body = "";
      for await (const chunk of req) body += chunk;
      const c = JSON.parse(body);
      app = await client.discovery(new URL(c.issuer), c.app.id, c.app.secret, undefined, insecure);
      other = await client.discovery(new URL(c.issuer), c.other.id, c.other.secret, undefined, insecure);
      res.writeHead(204).end();
    } else if (url.pathname === "/start") {
      const verifier = client.randomPKCECodeVerifier();
      flow = { case: url.searchParams.get("case") || "basic", verifier, nonce: client.randomNonce(), state: client.randomState() };
      const p = { redirect_uri: base + "/callback", code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256", nonce: flow.nonce, state: flow.state,
        scope: flow.case === "openid-only" ? "openid" : "openid email offline_access" };
      for (const k of ["prompt", "max_age"]) if (url.searchParams.get(k)) p[k] = url.searchParams.get(k);
      if (p.max_age) flow.maxAge = Number(p.max_age);
      res.writeHead(302, { Location: client.buildAuthorizationUrl(app, p).href }).end();
    } else if (url.pathname === "/callback" && !url.searchParams.get("code") && !url.searchParams.get("error")) {
      page(res, ["signed out"]);
    } else if (url.pathname === "/callback" && url.searchParams.get("error")) {
      page(res, [`refused: ${url.searchParams.get("error")}`, "done"]);
    } else if (url.pathname === "/callback") {
      page(res, [...await callback(url), "done"]);
    } else {
      res.writeHead(404).end();
    }
  } catch (e) {
    page(res, [`FAIL ${e.error || e.code || ""} ${e.message}`, "done"]);
  }
});
server.listen(0, "127.0.0.1", () => {
  base = `http://127.0.0.1:${server.address().port}`;
  console.log(base);
});
