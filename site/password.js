"use strict";
kagiyaReady(async () => {
  const form = document.getElementById("password-form");
  const msg = document.getElementById("message");
  const checklist = new PasswordChecklist(document.getElementById("rules"), form.new_password);
  document.addEventListener("kagiya:lang", () => checklist.load().catch(() => {}));
  if (!(await me())) return;
  await checklist.load();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (checklist.refuse(form, msg)) return;
    if (form.new_password.value !== form.new_password2.value) {
      showMessage(msg, t("admin.password_mismatch"), true);
      return;
    }
    const button = document.getElementById("submit");
    button.disabled = true;
    try {
      await api("POST", "/api/me/password", {
        current_password: form.current_password.value, new_password: form.new_password.value });
      await me(); // the session was renewed: take its CSRF token
      form.reset();
      showDone(form, msg, t("pw.done"));
    } catch (e) {
      if (e.signedOut) { location.replace("/index.html"); return; }
      showMessage(msg, checklist.explain(e), true);
      flagFields(form, e, msg);
    } finally {
      button.disabled = false;
    }
  });
});
