"use strict";
// The sign-in page walks a sign-in flow: the password or a passkey, then whatever step
// the answer names (a password change, a code from the authenticator app or a passkey,
// an enrolment the tenant requires), each with the flow's challenge, until the answer is
// "ok".
kagiyaReady(() => {
  const form = document.getElementById("signin-form");
  const msg = document.getElementById("signin-message");
  const sections = ["signin-form", "change-section", "mfa-section", "enrol-section", "codes-section"];
  let change = null; // {reason, challenge, checklist} while a new password is required
  let challenge = "";

  const show = (id) => {
    for (const s of sections) {
      const el = document.getElementById(s);
      (el.tagName === "FORM" ? el.closest("section") : el).hidden = s !== id;
    }
  };
  const showChange = () => {
    document.getElementById("change-reason").textContent = t("change." + change.reason);
  };
  document.addEventListener("kagiya:lang", () => { if (change) { showChange(); change.checklist.load("?token=" + change.challenge).catch(() => {}); } });

  // An application's sign-in request (OpenID Connect) that brought the browser here: once
  // signed in, the browser goes back through the provider, which returns it to the
  // application.
  const params = new URLSearchParams(location.search);
  const oidc = params.get("oidc") || "";
  const oidcReturn = /^[A-Za-z0-9_-]{20,100}$/.test(oidc) ? "/api/oidc/login?id=" + oidc : "";
  if (oidcReturn && params.get("prompt") === "none") {
    // The application asked not to show a sign-in: go back at once, this time with the
    // session cookie (if any), and the provider answers it either way (checked: this
    // page has been, so no cookie means no session).
    location.assign(oidcReturn + "&checked=1");
  } else if (oidcReturn) {
    document.getElementById("oidc-note").hidden = false;
    // Already signed in (the session cookie is not sent on a navigation from another
    // site, but it is on this page's own request): go straight back, unless the
    // application asked for a new sign-in (reauth).
    if (params.get("reauth") !== "1") api("GET", "/api/me").then(() => location.assign(oidcReturn), () => {});
  }
  if (new URLSearchParams(location.search).get("oidc_error")) showMessage(msg, t("oidc.expired"), true);
  // A sign-in through the organization's identity provider that did not end in a session
  // comes back here with a code, which the error table words (never the provider's text).
  const idpError = params.get("error") || "";
  if (/^[a-z_]{1,40}$/.test(idpError) && errorText(idpError)) showMessage(msg, errorText(idpError), true);

  // The login ID first: its domain alone decides whether the organization's identity
  // provider is offered (the answer is the same whether or not the account exists).
  const idpChoice = document.getElementById("idp-choice");
  const idpStart = document.getElementById("idp-start");
  let idpName = "";
  const labelIdP = () => { idpStart.textContent = t("signin.idp_button").replace("{name}", idpName); };
  document.addEventListener("kagiya:lang", labelIdP);
  let discovered = "";
  const discover = async () => {
    const id = form.login_id.value.trim();
    if (id === discovered) return;
    discovered = id;
    idpChoice.hidden = true;
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(id)) return;
    try {
      const res = await api("POST", "/api/login/discover", { login_id: id });
      if (discovered !== id || !res.idp) return;
      idpName = res.idp.name;
      labelIdP();
      // An application's authorization request goes on after the provider, as after a
      // password.
      idpStart.href = res.idp.start_url + (oidcReturn ? "&oidc=" + encodeURIComponent(oidc) : "");
      idpChoice.hidden = false;
    } catch (e) { /* the password stays: nothing to offer */ }
  };
  form.login_id.addEventListener("change", discover);
  form.login_id.addEventListener("blur", discover);

  const signedIn = (res) => {
    sessionStorage.setItem("kagiya.csrf", res.csrf_token);
    if (oidcReturn) { location.assign(oidcReturn); return; }
    // The answer carries what GET /api/me gives: the home section, on this page, shows it
    // in place of the sign-in, and the address becomes the home page's.
    show("");
    history.replaceState(null, "", "/home.html");
    document.getElementById("signin-title").removeAttribute("data-i18n-title");
    const title = document.getElementById("home-title");
    title.dataset.i18nTitle = "home.title";
    document.title = t("home.title") + " - Kagiya";
    renderShell(res.account);
    showHome(res.account);
    title.focus();
  };

  // route follows an answer of the sign-in flow to its next screen.
  const route = async (res) => {
    challenge = res.challenge || "";
    switch (res.result) {
      case "password_change_required": {
        // The forced or expired change replaces the home page until it is done.
        const checklist = new PasswordChecklist(document.getElementById("change-rules"), document.getElementById("change_password"));
        change = { reason: res.reason, challenge: res.challenge, checklist };
        show("change-section");
        showChange();
        await checklist.load("?token=" + encodeURIComponent(res.challenge));
        document.getElementById("change_password").focus();
        return;
      }
      case "mfa_required": {
        show("mfa-section");
        // The ways the account has: a code (or a recovery code), a passkey, or both.
        const methods = res.methods || ["totp", "recovery_code"];
        const codes = methods.includes("totp");
        document.getElementById("passkey-fields").hidden = !methods.includes("passkey");
        document.getElementById("totp-fields").hidden = !codes;
        // After a code or a passkey; not after the identity provider, whose way back
        // carries no remember-this-browser cookie.
        const remember = document.getElementById("remember-label");
        remember.hidden = remember.dataset.idp === "1";
        document.getElementById("mfa-submit").parentElement.hidden = !codes;
        document.getElementById("use-recovery").parentElement.hidden = !codes;
        document.getElementById(codes ? "mfa_code" : "mfa-passkey").focus();
        return;
      }
      case "mfa_enrollment_required": {
        show("enrol-section");
        const e = await api("POST", "/api/login/mfa/setup", { challenge });
        fillEnrolment(document.getElementById("enrol-section"), e);
        document.getElementById("enrol_code").focus();
        return;
      }
      default:
        if (res.recovery_codes) {
          show("codes-section");
          showRecoveryCodes(document.getElementById("codes-section"), res.recovery_codes, () => signedIn(res));
          return;
        }
        signedIn(res);
    }
  };

  // submitting runs step with the form's button disabled, showing an error in out.
  const submitting = (formEl, button, out, step) => async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    showMessage(out, "", false);
    try {
      await step();
    } catch (e) {
      showMessage(out, e.code === "invalid_token" ? t("mfa.start_again") : e.message, true);
      if (e.code === "invalid_token") { show("signin-form"); form.password.value = ""; }
    } finally {
      button.disabled = false;
    }
  };

  // Back from the organization's identity provider with the tenant's own second factor
  // (or its enrolment) still to give: the step's challenge waits in an HttpOnly cookie,
  // which this request hands over once. Remembering the browser does not apply here.
  if (params.get("idp_step") === "1") {
    history.replaceState(null, "", "/index.html");
    document.getElementById("remember-label").dataset.idp = "1";
    api("POST", "/api/login/idp/step").then(route).catch((e) => {
      show("signin-form");
      showMessage(msg, e.code === "invalid_token" ? t("mfa.start_again") : e.message, true);
    });
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = document.getElementById("signin-submit");
    button.disabled = true;
    showMessage(msg, "", false);
    // A refused sign-in marks both fields (which one was wrong is not said), described by
    // the message; the next try clears the marks.
    const mark = (on) => {
      for (const el of [form.login_id, form.password]) {
        if (on) { el.setAttribute("aria-invalid", "true"); el.setAttribute("aria-describedby", "signin-message"); } else { el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby"); }
      }
    };
    mark(false);
    try {
      await route(await api("POST", "/api/login", {
        login_id: form.login_id.value.trim(), password: form.password.value }));
    } catch (e) {
      showMessage(msg, fieldMessages(e), true);
      mark(e.code === "invalid_credentials" || e.code === "validation");
      form.password.value = "";
      form.password.focus();
    } finally {
      button.disabled = false;
    }
  });

  document.getElementById("change-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const cmsg = document.getElementById("change-message");
    const pw = document.getElementById("change_password").value;
    if (change.checklist.refuse(ev.target, cmsg)) return;
    if (pw !== document.getElementById("change_password2").value) {
      showMessage(cmsg, t("admin.password_mismatch"), true);
      return;
    }
    try {
      await route(await api("POST", "/api/login/password", { challenge: change.challenge, new_password: pw }));
    } catch (e) {
      showMessage(cmsg, change.checklist.explain(e), true);
    }
  });

  let useRecovery = false;
  const recoveryToggle = document.getElementById("use-recovery");
  const labelToggle = () => { recoveryToggle.textContent = t(useRecovery ? "mfa.use_app" : "mfa.use_recovery"); };
  document.addEventListener("kagiya:lang", labelToggle);
  recoveryToggle.addEventListener("click", () => {
    useRecovery = !useRecovery;
    document.getElementById("totp-fields").hidden = useRecovery;
    document.getElementById("recovery-fields").hidden = !useRecovery;
    document.getElementById("remember-label").hidden = useRecovery;
    labelToggle();
    document.getElementById(useRecovery ? "recovery_code" : "mfa_code").focus();
  });
  const mfaForm = document.getElementById("mfa-form");
  const mfaMsg = document.getElementById("mfa-message");
  mfaForm.addEventListener("submit", submitting(mfaForm, document.getElementById("mfa-submit"), mfaMsg, async () => {
    const body = useRecovery
      ? { challenge, recovery_code: document.getElementById("recovery_code").value.trim() }
      : { challenge, code: document.getElementById("mfa_code").value.trim(),
          remember_browser: document.getElementById("remember_browser").checked };
    try {
      await route(await api("POST", "/api/login/mfa", body));
    } catch (e) {
      document.getElementById(useRecovery ? "recovery_code" : "mfa_code").value = "";
      throw e;
    }
  }));

  // A passkey as the second factor: options bound to the flow's challenge, then the
  // browser's passkey, then the step.
  const mfaPasskey = document.getElementById("mfa-passkey");
  mfaPasskey.addEventListener("click", async () => {
    mfaPasskey.disabled = true;
    showMessage(mfaMsg, "", false);
    try {
      const o = await api("POST", "/api/login/mfa/passkey-options", { challenge });
      const credential = await getPasskey(o.public_key);
      await route(await api("POST", "/api/login/mfa", { challenge, credential,
        remember_browser: document.getElementById("remember_browser").checked }));
    } catch (e) {
      if (e.code === "invalid_token") { showMessage(mfaMsg, t("mfa.start_again"), true); show("signin-form"); form.password.value = ""; return; }
      showMessage(mfaMsg, passkeyError(e, "passkey.signin_failed"), true);
    } finally {
      mfaPasskey.disabled = false;
    }
  });

  // A passkey alone: the button, and the browser's autofill of the login ID field
  // (conditional UI) where the browser offers it. Each attempt asks for a new challenge.
  const passkeyButton = document.getElementById("passkey-signin");
  const passkeyMsg = document.getElementById("passkey-signin-message");
  let autofill = null; // the pending autofill request's AbortController
  const passkeyLogin = async (mediation, signal) => {
    const o = await api("POST", "/api/login/passkey/options", {});
    const credential = await getPasskey(o.public_key, mediation, signal);
    if (!credential) return;
    await route(await api("POST", "/api/login/passkey", { challenge: o.challenge, credential }));
  };
  const offerAutofill = async () => {
    if (!passkeysAvailable() || typeof PublicKeyCredential.isConditionalMediationAvailable !== "function" ||
        !(await PublicKeyCredential.isConditionalMediationAvailable())) return;
    const ctl = new AbortController();
    autofill = ctl;
    try {
      await passkeyLogin("conditional", ctl.signal);
    } catch (e) {
      if (ctl.signal.aborted) return; // the button took over
      // Said once; the button (with a new challenge) is the way to try again.
      showMessage(passkeyMsg, passkeyError(e, "passkey.signin_failed"), true);
      autofill = null;
    }
  };
  if (!passkeysAvailable()) document.getElementById("passkey-signin-area").hidden = true;
  passkeyButton.addEventListener("click", async () => {
    passkeyButton.disabled = true;
    showMessage(passkeyMsg, "", false);
    if (autofill) { autofill.abort(); autofill = null; }
    try {
      await passkeyLogin();
    } catch (e) {
      showMessage(passkeyMsg, passkeyError(e, "passkey.signin_failed"), true);
    } finally {
      passkeyButton.disabled = false;
    }
  });
  if (!oidcReturn || params.get("prompt") !== "none") offerAutofill();

  const enrolForm = document.getElementById("enrol-form");
  enrolForm.addEventListener("submit", submitting(enrolForm, document.getElementById("enrol-submit"), document.getElementById("enrol-message"), async () => {
    await route(await api("POST", "/api/login/mfa/confirm", { challenge, code: document.getElementById("enrol_code").value.trim() }));
  }));
});
