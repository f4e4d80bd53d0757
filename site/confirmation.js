"use strict";
// The security page's confirmation password (確認用パスワード, the bank manual's second
// password): its state, and setting or changing it with the sign-in password. Shown where
// the organization confirms with it, or where the person has one.
kagiyaReady(async () => {
  const section = document.getElementById("confirmation-section");
  const form = document.getElementById("confirmation-form");
  const msg = document.getElementById("confirmation-message");
  const status = document.getElementById("confirmation-status");
  let m = null;
  const render = () => {
    if (!m) return;
    section.hidden = m.confirmation_password !== "separate" && !m.confirmation_password_set;
    status.textContent = t(m.confirmation_locked ? "confirmation.state_locked" : m.confirmation_password_set ? "confirmation.state_set" : "confirmation.state_unset");
    document.getElementById("confirmation-form-title").textContent = t(m.confirmation_password_set ? "confirmation.change_title" : "confirmation.set_title");
    form.hidden = m.confirmation_locked;
  };
  document.addEventListener("kagiya:lang", render);
  const load = async () => {
    try {
      m = await api("GET", "/api/me");
      render();
    } catch (_) { /* security.js sends a signed-out browser away */ }
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const next = form.confirmation_new.value;
    if (next !== form.confirmation_new2.value) {
      showMessage(msg, t("admin.password_mismatch"), true);
      return;
    }
    const button = document.getElementById("confirmation-submit");
    button.disabled = true;
    try {
      await api("PUT", "/api/me/confirmation-password", { current_password: form.confirmation_current.value, new_password: next });
      form.reset();
      flagFields(form, null, msg);
      await load();
      showMessage(msg, t("confirmation.done"), false);
    } catch (e) {
      if (e.signedOut) { location.replace("/index.html"); return; }
      if (e.code === "invalid_current_password") form.confirmation_current.value = "";
      showMessage(msg, fieldMessages(e), true);
      flagFields(form, e, msg);
    } finally {
      button.disabled = false;
    }
  });
  await load();
});
