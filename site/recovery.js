// The pages reached without a session: forgot password, reset by link, unlock by link.
// A link's token is read from the address and sent only when the person presses the
// button (a GET never changes anything), then removed from the address bar.
"use strict";
kagiyaReady(() => {
  const msg = document.getElementById("message");
  const button = document.getElementById("submit");
  const token = new URLSearchParams(location.search).get("token") || "";
  if (token) history.replaceState(null, "", location.pathname);

  async function submit(ev, call, done, explain) {
    ev.preventDefault();
    button.disabled = true;
    showMessage(msg, "", false);
    try {
      await call();
      ev.target.querySelectorAll("input").forEach((i) => { i.value = ""; });
      showDone(ev.target, msg, t(done));
    } catch (e) {
      showMessage(msg, explain ? explain(e) : fieldMessages(e), true);
      button.disabled = false;
    }
  }

  // forAccount says which account a link is for (its rules name it), and a link that no
  // longer works turns its form off, with the reason.
  const forAccount = (checklist) => {
    const el = document.getElementById("for-account");
    if (el && checklist.policy && checklist.policy.login_id) {
      el.textContent = t("link.for").replace("{id}", checklist.policy.login_id);
      el.hidden = false;
    }
  };
  const deadLink = (form, text) => {
    showMessage(msg, text, true);
    form.querySelectorAll("input").forEach((i) => { i.disabled = true; });
    button.disabled = true;
  };

  const forgot = document.getElementById("forgot-form");
  if (forgot) {
    forgot.addEventListener("submit", (ev) => submit(ev,
      () => api("POST", "/api/password/forgot", { login_id: forgot.login_id.value.trim() }), "forgot.sent"));
  }

  const reset = document.getElementById("reset-form");
  if (reset) {
    const checklist = new PasswordChecklist(document.getElementById("rules"), reset.new_password);
    if (!token) { showMessage(msg, t("reset.no_token"), true); button.disabled = true; } else {
      const load = () => checklist.load("?token=" + encodeURIComponent(token)).then(() => forAccount(checklist))
        .catch((e) => (e.code === "invalid_token" ? deadLink(reset, e.message) : showMessage(msg, e.message, true)));
      document.addEventListener("kagiya:lang", load);
      load();
    }
    reset.addEventListener("submit", (ev) => {
      if (checklist.refuse(reset, msg)) { ev.preventDefault(); return; }
      if (reset.new_password.value !== reset.new_password2.value) {
        ev.preventDefault();
        showMessage(msg, t("admin.password_mismatch"), true);
        return;
      }
      submit(ev, () => api("POST", "/api/password/reset", { token, new_password: reset.new_password.value }), "reset.done",
        (e) => checklist.explain(e));
    });
  }

  const invite = document.getElementById("invite-form");
  if (invite) {
    const checklist = new PasswordChecklist(document.getElementById("rules"), invite.new_password);
    if (!token) { showMessage(msg, t("reset.no_token"), true); button.disabled = true; } else {
      const load = () => checklist.load("?token=" + encodeURIComponent(token)).then(() => forAccount(checklist)).catch((e) => {
        if (e.code === "invalid_token") deadLink(invite, t("invite.expired"));
        else { showMessage(msg, e.message, true); button.disabled = true; }
      });
      document.addEventListener("kagiya:lang", load);
      load();
    }
    invite.addEventListener("submit", (ev) => {
      if (checklist.refuse(invite, msg)) { ev.preventDefault(); return; }
      if (invite.new_password.value !== invite.new_password2.value) {
        ev.preventDefault();
        showMessage(msg, t("admin.password_mismatch"), true);
        return;
      }
      submit(ev, async () => {
        const res = await api("POST", "/api/invitations/accept", { token, new_password: invite.new_password.value });
        document.getElementById("signin-link").textContent = t("invite.signin").replace("{id}", res.login_id);
      }, "invite.done", (e) => e.code === "invalid_token" ? t("invite.expired") : checklist.explain(e));
    });
  }

  const confirmEmail = document.getElementById("confirm-email-form");
  if (confirmEmail) {
    if (!token) { showMessage(msg, t("reset.no_token"), true); button.disabled = true; }
    confirmEmail.addEventListener("submit", (ev) => submit(ev, async () => {
      const res = await api("POST", "/api/email/confirm", { token, password: confirmEmail.password.value });
      sessionStorage.setItem("kagiya.new_login_id", res.login_id);
    }, "confirm_email.done"));
  }

  const unlock = document.getElementById("unlock-form");
  if (unlock) {
    if (!token) { showMessage(msg, t("reset.no_token"), true); button.disabled = true; }
    unlock.addEventListener("submit", (ev) => submit(ev, async () => {
      const res = await api("POST", "/api/unlock", { token });
      const el = document.getElementById("for-account");
      if (el && res && res.login_id) { el.textContent = t("link.for").replace("{id}", res.login_id); el.hidden = false; }
    }, "unlock.done"));
  }
});
