"use strict";
// Passkeys in the browser. The API speaks the JSON forms of the WebAuthn dictionaries
// (binary fields base64url); browsers that have PublicKeyCredential.parse*OptionsFromJSON
// and toJSON() convert them themselves, and for the others the few binary fields are
// converted here. A ceremony's challenge lives in a variable of the page that asked for
// it, and nowhere else.

// passkeysAvailable: the browser has WebAuthn, and the page is on a host name (browsers
// take no IP address as a passkey's site: the local server's passkeys are at localhost).
function passkeysAvailable() {
  const ip = /^[0-9.]+$/.test(location.hostname) || location.hostname.startsWith("[");
  return !ip && typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
}

const passkeyB64 = {
  decode(s) {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(s.length / 4) * 4, "="));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  },
  encode(buf) {
    let bin = "";
    for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

function passkeyCreationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  const o = Object.assign({}, json, { challenge: passkeyB64.decode(json.challenge), user: Object.assign({}, json.user, { id: passkeyB64.decode(json.user.id) }) });
  if (json.excludeCredentials) o.excludeCredentials = json.excludeCredentials.map((c) => Object.assign({}, c, { id: passkeyB64.decode(c.id) }));
  return o;
}

function passkeyRequestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  const o = Object.assign({}, json, { challenge: passkeyB64.decode(json.challenge) });
  if (json.allowCredentials) o.allowCredentials = json.allowCredentials.map((c) => Object.assign({}, c, { id: passkeyB64.decode(c.id) }));
  return o;
}

// passkeyJSON is a PublicKeyCredential as RegistrationResponseJSON or
// AuthenticationResponseJSON.
function passkeyJSON(cred) {
  if (typeof cred.toJSON === "function") return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: passkeyB64.encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = passkeyB64.encode(r.attestationObject);
    if (typeof r.getTransports === "function") response.transports = r.getTransports();
  } else {
    response.authenticatorData = passkeyB64.encode(r.authenticatorData);
    response.signature = passkeyB64.encode(r.signature);
    if (r.userHandle) response.userHandle = passkeyB64.encode(r.userHandle);
  }
  return { id: cred.id, rawId: passkeyB64.encode(cred.rawId), type: cred.type, response,
    authenticatorAttachment: cred.authenticatorAttachment || undefined, clientExtensionResults: cred.getClientExtensionResults() };
}

async function createPasskey(publicKey) {
  return passkeyJSON(await navigator.credentials.create({ publicKey: passkeyCreationOptions(publicKey) }));
}

// getPasskey asks the browser for a passkey: with mediation "conditional", through the
// login ID field's autofill, until signal aborts it.
async function getPasskey(publicKey, mediation, signal) {
  const req = { publicKey: passkeyRequestOptions(publicKey) };
  if (mediation) req.mediation = mediation;
  if (signal) req.signal = signal;
  const cred = await navigator.credentials.get(req);
  return cred ? passkeyJSON(cred) : null;
}

// passkeyError is what to say when a ceremony failed: the person cancelled or the time
// ran out (the browser's NotAllowedError), or the server's answer.
function passkeyError(e, refusedKey) {
  if (e instanceof ApiError) return e.code === "invalid_credentials" && refusedKey ? t(refusedKey) : fieldMessages(e);
  if (e && e.name === "InvalidStateError") return t("passkey.already");
  return t(passkeysAvailable() ? "passkey.cancelled" : "passkey.unsupported");
}

// passkeySection is the security page's list of passkeys: name, created, last used, with
// rename and remove on each row, and the form that adds one with the current password.
function passkeySection(root) {
  const tbody = root.querySelector("tbody");
  const empty = root.querySelector(".passkey-empty");
  const msg = document.getElementById("passkey-message");
  const form = document.getElementById("passkey-form");
  let rows = [];
  const fmt = (s) => (s ? formatTime(s) : t("never"));
  const fail = (e) => {
    if (e.signedOut) { location.replace("/index.html"); return; }
    showMessage(msg, passkeyError(e), true);
  };
  const button = (text, cls, label, onClick) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = t(text);
    b.setAttribute("aria-label", t(text) + ": " + label);
    b.addEventListener("click", onClick);
    return b;
  };
  const render = () => {
    tbody.replaceChildren();
    empty.hidden = rows.length > 0;
    for (const r of rows) {
      const tr = document.createElement("tr");
      tr.dataset.passkey = r.passkey_id;
      for (const [label, text] of [["cred.name", r.name], ["cred.created", fmt(r.created_at)], ["cred.last_used", fmt(r.last_used_at)]]) {
        const td = document.createElement("td");
        td.dataset.label = t(label);
        td.textContent = text;
        tr.append(td);
      }
      const cell = document.createElement("td");
      const actions = document.createElement("div");
      actions.className = "row-actions";
      actions.append(
        button("passkey.rename", "secondary rename", r.name, () => rename(tr, r)),
        button("passkey.remove", "danger remove", r.name, () => confirmRemove(actions, r)));
      cell.append(actions);
      tr.append(cell);
      tbody.append(tr);
    }
  };
  // rename puts a field in place of the row's name.
  const rename = (tr, r) => {
    const cell = tr.firstElementChild;
    const f = document.createElement("form");
    f.className = "inline-rename";
    f.noValidate = true;
    const input = document.createElement("input");
    input.type = "text";
    input.maxLength = 60;
    input.value = r.name;
    input.id = "rename-" + r.passkey_id;
    input.setAttribute("aria-label", t("passkey.new_name"));
    const save = document.createElement("button");
    save.type = "submit";
    save.textContent = t("admin.save");
    const cancel = button("admin.cancel", "secondary", r.name, () => render());
    f.append(input, save, cancel);
    f.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      save.disabled = true;
      try {
        const done = await api("PATCH", "/api/me/passkeys/" + encodeURIComponent(r.passkey_id), { name: input.value.trim() });
        showMessage(msg, t("passkey.renamed").replace("{name}", done.name), false);
        await load();
      } catch (e) {
        fail(e);
        save.disabled = false;
      }
    });
    cell.replaceChildren(f);
    input.focus();
  };
  // confirmRemove asks once more, in the row, before removing.
  const confirmRemove = (cell, r) => {
    const note = document.createElement("span");
    note.className = "confirm-note";
    note.textContent = t("passkey.remove_confirm").replace("{name}", r.name);
    const yes = button("passkey.remove_ok", "danger remove-ok", r.name, async () => {
      yes.disabled = true;
      try {
        await api("DELETE", "/api/me/passkeys/" + encodeURIComponent(r.passkey_id));
        showMessage(msg, t("passkey.removed").replace("{name}", r.name), false);
        await load();
      } catch (e) {
        fail(e);
        yes.disabled = false;
      }
    });
    const no = button("admin.cancel", "secondary", r.name, () => render());
    cell.replaceChildren(note, yes, no);
    yes.focus();
  };
  const load = async () => {
    rows = (await api("GET", "/api/me/passkeys")).passkeys;
    render();
  };
  document.addEventListener("kagiya:lang", render);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const submit = document.getElementById("passkey-add");
    submit.disabled = true;
    showMessage(msg, "", false);
    flagFields(form, null, msg);
    try {
      if (!passkeysAvailable()) throw new Error("unsupported");
      const name = form.passkey_name.value.trim();
      if (!name) {
        showMessage(msg, t("passkey.name_required"), true);
        form.passkey_name.setAttribute("aria-invalid", "true");
        form.passkey_name.focus();
        return;
      }
      const opts = await api("POST", "/api/me/passkeys/options", { current_password: form.passkey_password.value });
      form.passkey_password.value = "";
      const credential = await createPasskey(opts.public_key);
      const made = await api("POST", "/api/me/passkeys", { name, credential });
      form.reset();
      showMessage(msg, t("passkey.added").replace("{name}", made.name), false);
      await load();
    } catch (e) {
      fail(e);
      if (e instanceof ApiError) flagFields(form, e, msg);
    } finally {
      submit.disabled = false;
    }
  });
  return load().catch(fail);
}
