"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("signin-form");
  const msg = document.getElementById("signin-message");
  let change = null; // {reason, challenge, checklist} while a new password is required

  const showChange = () => {
    document.getElementById("change-reason").textContent = t("change." + change.reason);
  };
  document.addEventListener("kagiya:lang", () => { if (change) { showChange(); change.checklist.load("?token=" + change.challenge).catch(() => {}); } });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = document.getElementById("signin-submit");
    button.disabled = true;
    showMessage(msg, "", false);
    try {
      const res = await api("POST", "/api/login", {
        login_id: form.login_id.value.trim(), password: form.password.value });
      if (res.result === "password_change_required") {
        // The forced or expired change replaces the home page until it is done.
        const checklist = new PasswordChecklist(document.getElementById("change-rules"), document.getElementById("change_password"));
        change = { reason: res.reason, challenge: res.challenge, checklist };
        form.closest("section").hidden = true;
        document.getElementById("change-section").hidden = false;
        showChange();
        await checklist.load("?token=" + encodeURIComponent(res.challenge));
        document.getElementById("change_password").focus();
        return;
      }
      sessionStorage.setItem("kagiya.csrf", res.csrf_token);
      location.assign("/home.html");
    } catch (e) {
      showMessage(msg, e.message, true);
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
    if (pw !== document.getElementById("change_password2").value) {
      showMessage(cmsg, t("admin.password_mismatch"), true);
      return;
    }
    try {
      const res = await api("POST", "/api/login/password", { challenge: change.challenge, new_password: pw });
      sessionStorage.setItem("kagiya.csrf", res.csrf_token);
      location.assign("/home.html");
    } catch (e) {
      showMessage(cmsg, change.checklist.explain(e), true);
    }
  });
});
