"use strict";
// The person's security page: the second factor's state, turning it on (QR code, a code
// to confirm, the recovery codes), new recovery codes, forgetting remembered browsers,
// turning it off; passkeys (passkeys.js).
kagiyaReady(async () => {
  const msg = document.getElementById("message");
  const codes = document.getElementById("codes-section");
  let status = null;

  const render = () => {
    if (!status) return;
    const on = status.totp_enabled;
    document.getElementById("mfa-status").textContent = t(status.locked ? "mfa.state_locked" : on ? "mfa.state_on" : "mfa.state_off");
    document.getElementById("mfa-codes-left").textContent = on ? String(status.recovery_codes_left) : "-";
    // Browsers are remembered after a code or a passkey (the API counts them while
    // either is on), so forgetting them is offered whenever one is remembered.
    document.getElementById("mfa-remembered").textContent = on || status.remembered_browsers > 0 ? String(status.remembered_browsers) : "-";
    document.getElementById("forget-part").hidden = !on && !(status.remembered_browsers > 0);
    document.getElementById("mfa-required-note").hidden = !status.required;
    document.getElementById("enable-form").hidden = on;
    document.getElementById("manage").hidden = !on;
    document.getElementById("disable-form").hidden = status.required;
  };
  document.addEventListener("kagiya:lang", render);
  const load = async () => {
    status = await api("GET", "/api/me/mfa");
    render();
  };

  // action runs f for a form or button, showing its error (or done, if given) in msg.
  const action = (button, f, done) => async (ev) => {
    if (ev) ev.preventDefault();
    button.disabled = true;
    showMessage(msg, "", false);
    try {
      await f();
      if (done) showMessage(msg, t(done), false);
    } catch (e) {
      if (e.signedOut) { location.replace("/index.html"); return; }
      showMessage(msg, fieldMessages(e), true);
    } finally {
      button.disabled = false;
    }
  };
  const showCodes = (list) => {
    document.getElementById("manage").hidden = true;
    showRecoveryCodes(codes, list, async () => { await load(); document.getElementById("page-title").scrollIntoView(); });
  };

  const enable = document.getElementById("enable-form");
  enable.addEventListener("submit", action(document.getElementById("enable-submit"), async () => {
    const e = await api("POST", "/api/me/mfa/totp/setup", { current_password: enable.enable_password.value });
    enable.reset();
    enable.hidden = true;
    const enrol = document.getElementById("enrol");
    fillEnrolment(enrol, e);
    enrol.hidden = false;
    document.getElementById("confirm_code").focus();
  }));
  // A wrong code is the form's error, shown beside it: the enrolment stays as it is, so
  // the person types the app's next code.
  const confirm = document.getElementById("confirm-form");
  const confirmMsg = document.getElementById("confirm-message");
  const confirmButton = document.getElementById("confirm-submit");
  confirm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    confirmButton.disabled = true;
    showMessage(msg, "", false);
    showMessage(confirmMsg, "", false);
    flagFields(confirm, null, confirmMsg);
    try {
      const res = await api("POST", "/api/me/mfa/totp/confirm", { code: confirm.confirm_code.value.trim() });
      confirm.reset();
      document.getElementById("enrol").hidden = true;
      showMessage(msg, t("mfa.enabled"), false);
      showCodes(res.recovery_codes);
    } catch (e) {
      if (e.signedOut) { location.replace("/index.html"); return; }
      showMessage(confirmMsg, fieldMessages(e), true);
      flagFields(confirm, e, confirmMsg);
      confirm.confirm_code.select();
    } finally {
      confirmButton.disabled = false;
    }
  });
  const regen = document.getElementById("regen-form");
  regen.addEventListener("submit", action(document.getElementById("regen-submit"), async () => {
    const res = await api("POST", "/api/me/mfa/recovery-codes", { current_password: regen.regen_password.value });
    regen.reset();
    showCodes(res.recovery_codes);
  }));
  const forget = document.getElementById("forget");
  forget.addEventListener("click", action(forget, async () => {
    await api("POST", "/api/me/mfa/forget-browsers");
    await load();
  }, "mfa.forgotten"));
  const disable = document.getElementById("disable-form");
  disable.addEventListener("submit", action(document.getElementById("disable-submit"), async () => {
    await api("POST", "/api/me/mfa/totp/disable", { current_password: disable.disable_password.value });
    disable.reset();
    await load();
  }, "mfa.disabled"));

  const loginID = document.getElementById("loginid-form");
  loginID.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = document.getElementById("loginid-message");
    const button = document.getElementById("loginid-submit");
    button.disabled = true;
    try {
      await api("POST", "/api/me/login-id", { new_login_id: loginID.new_login_id.value.trim(), current_password: loginID.loginid_password.value });
      showMessage(out, t("loginid.sent").replace("{id}", loginID.new_login_id.value.trim()), false);
      loginID.reset();
    } catch (e) {
      if (e.signedOut) { location.replace("/index.html"); return; }
      showMessage(out, fieldMessages(e), true);
    } finally {
      button.disabled = false;
    }
  });

  const m = await me();
  if (!m) return;
  if (m.login_method === "idp") idpAppPasswords(m.login_id);
  passkeySection(document.getElementById("passkeys"));
  credentialSection({
    root: document.getElementById("app-passwords"),
    list: async () => (await api("GET", "/api/me/app-passwords")).app_passwords
      .map((c) => ({ id: c.app_password_id, name: c.name, created_at: c.created_at, last_used_at: c.last_used_at })),
    create: async (name, password) => ({ secret: (await api("POST", "/api/me/app-passwords", { name, current_password: password })).password }),
    revoke: (id) => api("DELETE", "/api/me/app-passwords/" + encodeURIComponent(id)),
  });
  credentialSection({
    root: document.getElementById("applications"),
    labels: ["cred.name", "apps.first", "apps.last"],
    list: async () => (await api("GET", "/api/me/applications")).applications
      .map((a) => ({ id: a.client_id, name: a.name, created_at: a.first_signed_in_at, last_used_at: a.last_signed_in_at })),
    revoke: (id) => api("DELETE", "/api/me/applications/" + encodeURIComponent(id)),
  });
  try {
    await load();
  } catch (e) {
    showMessage(msg, e.message, true);
  }
});

// idpAppPasswords: an account that signs in through the organization's identity provider
// has no password to confirm an app password (or its second factor, or a passkey) with;
// a sign-in there in the last ten minutes does instead. Those forms drop the password
// field, and the app passwords offer a new sign-in at the provider that comes back to
// this page.
function idpAppPasswords(loginID) {
  for (const id of ["app-passwords-password", "enable_password", "regen_password", "disable_password", "passkey_password"]) {
    const input = document.getElementById(id);
    if (!input) continue;
    input.hidden = true;
    const label = document.querySelector("label[for=" + id + "]");
    if (label) label.hidden = true;
  }
  document.getElementById("app-passwords-idp").hidden = false;
  const link = document.getElementById("app-passwords-reauth");
  api("POST", "/api/login/discover", { login_id: loginID }).then((res) => {
    if (!res.idp) return;
    link.href = res.idp.start_url + "&to=security";
    const label = () => { link.textContent = t("apppw.idp_reauth").replace("{name}", res.idp.name); };
    label();
    document.addEventListener("kagiya:lang", label);
  }).catch(() => { /* the note still says what to do */ });
}
