"use strict";
const NUMBER_SETTINGS = ["history_depth", "max_age_days", "lockout_threshold", "lock_minutes", "unlock_link_hours", "reset_link_minutes"];

document.addEventListener("DOMContentLoaded", async () => {
  const form = document.getElementById("settings-form");
  const msg = document.getElementById("message");
  const m = await me();
  if (!m) return;
  if (m.role !== "owner") { location.replace("/home.html"); return; }
  try {
    const s = await api("GET", "/api/admin/tenant");
    document.getElementById("tenant-name").textContent = s.name;
    form.name.value = s.name;
    form.domains.value = s.domains.join("\n");
    form.policy_preset.value = s.policy_preset;
    form.language.value = s.language;
    form.lockout_scope.value = s.lockout_scope;
    form.notify_new_device.checked = s.notify_new_device;
    NUMBER_SETTINGS.forEach((k) => { form[k].value = s[k]; });
  } catch (e) {
    showMessage(msg, e.message, true);
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {
      name: form.name.value,
      domains: form.domains.value.split(/[\s,、]+/).filter((d) => d !== ""),
      policy_preset: form.policy_preset.value,
      language: form.language.value,
      lockout_scope: form.lockout_scope.value,
      notify_new_device: form.notify_new_device.checked,
      confirm_password: form.confirm_password.value,
    };
    NUMBER_SETTINGS.forEach((k) => { body[k] = Number(form[k].value); });
    try {
      const saved = await api("PUT", "/api/admin/tenant", body);
      document.getElementById("tenant-name").textContent = saved.name;
      form.domains.value = saved.domains.join("\n");
      form.confirm_password.value = "";
      showMessage(msg, t("settings.saved"), false);
    } catch (e) {
      if (e.code === "invalid_confirm_password") form.confirm_password.value = "";
      showMessage(msg, fieldMessages(e), true);
    }
  });
});
