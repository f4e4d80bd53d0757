"use strict";
// The local server's first run: the link it prints (its token after "#", never sent in
// a URL) opens this page, which creates the first organization and its owner, once.
kagiyaReady(() => {
  const form = document.getElementById("setup-form");
  const msg = document.getElementById("message");
  const token = location.hash.slice(1);
  const checklist = new PasswordChecklist(document.getElementById("rules"), form.new_password);
  const loadRules = () => checklist.load("/_dev/setup/policy?lang=" + kagiyaLang() + "&login_id=" + encodeURIComponent(form.login_id.value.trim())).catch(() => {});
  loadRules();
  document.addEventListener("kagiya:lang", loadRules);
  form.login_id.addEventListener("change", loadRules);
  if (!token) {
    showMessage(msg, t("setup.no_token"), true);
    document.getElementById("submit").disabled = true;
  }
  form.login_id.focus();
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
      await api("POST", "/_dev/setup", { token, login_id: form.login_id.value.trim(), password: form.new_password.value });
      document.getElementById("done").hidden = false;
      showDone(form, msg, t("setup.done").replace("{id}", form.login_id.value.trim()));
      history.replaceState(null, "", "/setup.html"); // the token is used up
    } catch (e) {
      showMessage(msg, e.code === "invalid_token" ? t("setup.used") : checklist.explain(e), true);
      button.disabled = false;
    }
  });
});
