"use strict";
// The owner's integrations page: service credentials for mail servers and other trusted
// services (POST /api/service/verify).
kagiyaReady(async () => {
  const m = await me();
  if (!m) return;
  if (m.role !== "owner") { location.replace("/home.html"); return; }
  await credentialSection({
    root: document.getElementById("service-credentials"),
    revokeNeedsPassword: true,
    list: async () => (await api("GET", "/api/admin/service-credentials")).service_credentials
      .map((c) => ({ id: c.credential_id, name: c.name, created_at: c.created_at, last_used_at: c.last_used_at })),
    create: async (name, password) => ({ secret: (await api("POST", "/api/admin/service-credentials", { name, confirm_password: password })).secret }),
    revoke: (id, password) => api("DELETE", "/api/admin/service-credentials/" + encodeURIComponent(id), { confirm_password: password }),
  });
  oidcClients();
  identityProviders();
});

// removableRow is a row of a list on this page: its cells (a word's key and the text) and
// a remove button that deletes path with the owner's password (the section's field),
// then says so and loads the list again.
function removableRow({ cells, name, path, password, msg, fail, load }) {
  const tr = document.createElement("tr");
  for (const [label, text] of cells) {
    const td = document.createElement("td");
    td.dataset.label = t(label);
    td.textContent = text;
    tr.append(td);
  }
  const td = document.createElement("td");
  const b = document.createElement("button");
  b.type = "button";
  b.className = "danger remove";
  b.textContent = t("oidcc.remove");
  b.setAttribute("aria-label", t("oidcc.remove") + ": " + name);
  b.addEventListener("click", async () => {
    if (!password.value) { showMessage(msg, t("cred.revoke_needs_password"), true); password.focus(); return; }
    try {
      await api("DELETE", path, { confirm_password: password.value });
      password.value = "";
      showMessage(msg, t("cred.revoked").replace("{name}", name), false);
      await load();
    } catch (e) { fail(e); }
  });
  td.append(b);
  tr.append(td);
  return tr;
}

// identityProviderPresets fill the issuer of the providers the manuals name: Google,
// Microsoft Entra ID (the organization's own tenant) and AD FS (its host).
const identityProviderPresets = {
  google: { name: "Google", issuer: () => "https://accounts.google.com" },
  entra: { name: "Microsoft Entra ID", issuer: (f) => "https://login.microsoftonline.com/" + (f["idp-entra-tenant"].value.trim() || "<tenant-id>") + "/v2.0" },
  adfs: { name: "AD FS", issuer: (f) => "https://" + (f["idp-adfs-host"].value.trim() || "<host>") + "/adfs" },
};

// identityProviders manages the organization's identity providers: the redirect URI to
// register there, the list, registration (presets fill the issuer) and removal, each
// confirmed with the owner's password.
async function identityProviders() {
  const rows = document.getElementById("idp-rows");
  const form = document.getElementById("idp-form");
  const msg = document.getElementById("idp-message");
  let providers = [];
  const fail = (e) => {
    if (e.signedOut) { location.replace("/index.html"); return; }
    showMessage(msg, fieldMessages(e), true);
  };
  const preset = () => {
    const p = identityProviderPresets[form["idp-preset"].value];
    document.getElementById("idp-entra").hidden = form["idp-preset"].value !== "entra";
    document.getElementById("idp-adfs").hidden = form["idp-preset"].value !== "adfs";
    if (!p) return;
    form["idp-name"].value = p.name;
    form["idp-issuer"].value = p.issuer(form);
  };
  form["idp-preset"].addEventListener("change", preset);
  form["idp-entra-tenant"].addEventListener("input", preset);
  form["idp-adfs-host"].addEventListener("input", preset);
  const render = () => {
    rows.replaceChildren();
    document.getElementById("idp-empty").hidden = providers.length > 0;
    for (const p of providers) {
      rows.append(removableRow({ cells: [["cred.name", p.name], ["idp.issuer", p.issuer], ["idp.domains", p.domains.join(" ")]],
        name: p.name, path: "/api/admin/identity-providers/" + encodeURIComponent(p.idp_id),
        password: form["idp-password"], msg, fail, load }));
    }
  };
  const load = async () => {
    const res = await api("GET", "/api/admin/identity-providers");
    document.getElementById("idp-redirect").textContent = res.redirect_uri;
    providers = res.identity_providers;
    render();
  };
  document.addEventListener("kagiya:lang", render);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = document.getElementById("idp-submit");
    button.disabled = true;
    showMessage(msg, "", false);
    try {
      const made = await api("POST", "/api/admin/identity-providers", {
        name: form["idp-name"].value.trim(),
        issuer: form["idp-issuer"].value.trim(),
        client_id: form["idp-client-id"].value.trim(),
        client_secret: form["idp-client-secret"].value,
        domains: form["idp-domains"].value.split(/[\s,]+/).filter((d) => d !== ""),
        confirm_password: form["idp-password"].value,
      });
      form.reset();
      preset();
      showMessage(msg, t("idp.created").replace("{name}", made.name), false);
      await load();
    } catch (e) { fail(e); } finally { button.disabled = false; }
  });
  try { await load(); } catch (e) { fail(e); }
}

// oidcClients manages the OpenID Connect clients: the list, registration (the secret
// shown once) and removal with the owner's password.
async function oidcClients() {
  document.getElementById("issuer").textContent = location.origin;
  const rows = document.getElementById("oidc-rows");
  const form = document.getElementById("oidc-form");
  const msg = document.getElementById("oidc-message");
  let clients = [];
  const fail = (e) => {
    if (e.signedOut) { location.replace("/index.html"); return; }
    showMessage(msg, fieldMessages(e), true);
  };
  const render = () => {
    rows.replaceChildren();
    document.getElementById("oidc-empty").hidden = clients.length > 0;
    for (const c of clients) {
      const cells = [["cred.name", c.name], ["oidcc.client_id", c.client_id], ["oidcc.redirects", c.redirect_uris.join(" ")],
        ["oidcc.type", t("oidcc." + c.type) + (c.refresh_tokens ? " / " + t("oidcc.refresh_short") : "")]];
      rows.append(removableRow({ cells, name: c.name, path: "/api/admin/oidc-clients/" + encodeURIComponent(c.client_id),
        password: form["oidc-password"], msg, fail, load }));
    }
  };
  const load = async () => {
    clients = (await api("GET", "/api/admin/oidc-clients")).oidc_clients;
    render();
  };
  document.addEventListener("kagiya:lang", render);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = document.getElementById("oidc-submit");
    button.disabled = true;
    showMessage(msg, "", false);
    try {
      const made = await api("POST", "/api/admin/oidc-clients", {
        name: form["oidc-name"].value.trim(),
        redirect_uris: form["oidc-redirects"].value.split(/\s+/).filter((u) => u !== ""),
        type: form["oidc-type"].value,
        refresh_tokens: form["oidc-refresh"].checked,
        scopes: ["email", "profile"].filter((sc) => form["oidc-scope-" + sc].checked),
        confirm_password: form["oidc-password"].value,
      });
      form.reset();
      document.getElementById("oidc-shown-id").textContent = made.client_id;
      document.getElementById("oidc-shown-secret").textContent = made.client_secret || t("oidcc.no_secret");
      document.getElementById("oidc-shown").hidden = false;
      document.querySelector("#oidc-shown h3").focus();
      await load();
    } catch (e) { fail(e); } finally { button.disabled = false; }
  });
  document.getElementById("oidc-shown-done").addEventListener("click", () => {
    document.getElementById("oidc-shown-secret").textContent = "";
    document.getElementById("oidc-shown").hidden = true;
  });
  try { await load(); } catch (e) { fail(e); }
}
