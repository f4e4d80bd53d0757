"use strict";
// The owner's integrations page: service credentials for mail servers and other trusted
// services (POST /api/service/verify).
document.addEventListener("DOMContentLoaded", async () => {
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
});
