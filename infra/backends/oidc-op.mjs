// An identity provider this project did not write, for the tests of Kagiya's sign-in
// through a tenant's provider: panva's oidc-provider (OpenID Certified), with its
// in-memory adapter, one client (Kagiya), the people in KAGIYA_OP_ACCOUNTS and a small
// login page. shared/federation's tests start it with node, read its issuer from the
// first line it prints, and stop it by PID.
//
// Environment: KAGIYA_OP_CLIENT_ID, KAGIYA_OP_CLIENT_SECRET, KAGIYA_OP_REDIRECT_URI,
// KAGIYA_OP_ACCOUNTS (JSON: {"<id>": {"email": "...", "email_verified": true}}; the ID is
// the subject). POST /_test/accounts (same JSON) replaces the people while it runs.
import http from "node:http";
import Provider from "oidc-provider";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
let accounts = JSON.parse(env("KAGIYA_OP_ACCOUNTS"));

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const readForm = (req) => new Promise((resolve, reject) => {
  let body = "";
  req.setEncoding("utf8");
  req.on("data", (chunk) => { body += chunk; if (body.length > 65536) req.destroy(); });
  req.on("end", () => resolve(new URLSearchParams(body)));
  req.on("error", reject);
});

const server = http.createServer();
server.listen(0, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: env("KAGIYA_OP_CLIENT_ID"),
      client_secret: env("KAGIYA_OP_CLIENT_SECRET"),
      redirect_uris: [env("KAGIYA_OP_REDIRECT_URI")],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    }],
    claims: { openid: ["sub"], email: ["email", "email_verified"] },
    async findAccount(_ctx, id) {
      const a = accounts[id];
      if (!a) return undefined;
      return { accountId: id, async claims() { return { sub: id, email: a.email, email_verified: a.email_verified }; } };
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ["kagiya-test-op-cookie-key"] },
  });

  server.on("request", async (req, res) => {
    try {
      const url = new URL(req.url, issuer);
      const m = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
      if (url.pathname === "/_test/accounts" && req.method === "POST") {
        let body = "";
        for await (const chunk of req) body += chunk;
        accounts = JSON.parse(body);
        res.writeHead(204).end();
        return;
      }
      if (m && !m[2] && req.method === "GET") {
        const details = await provider.interactionDetails(req, res);
        if (details.prompt.name === "login") {
          res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
          res.end(`<!doctype html><title>Test provider</title><form method="post" action="/interaction/${esc(m[1])}/login">` +
            `<label>login <input name="login" value="${esc(details.params.login_hint || "")}"></label><button>sign in</button></form>`);
          return;
        }
        // Consent: every client of this provider is trusted with openid and email.
        const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
        grant.addOIDCScope("openid email");
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
        return;
      }
      if (m && m[2] && req.method === "POST") {
        const form = await readForm(req);
        const id = form.get("login") || "";
        if (!accounts[id]) {
          await provider.interactionFinished(req, res, { error: "access_denied", error_description: "unknown person" }, { mergeWithLastSubmission: false });
          return;
        }
        await provider.interactionFinished(req, res, { login: { accountId: id } }, { mergeWithLastSubmission: false });
        return;
      }
      provider.callback()(req, res);
    } catch (err) {
      res.writeHead(500, { "Content-Type": "text/plain" }).end(String(err));
    }
  });
  process.stdout.write(JSON.stringify({ issuer }) + "\n");
});
