"use strict";
const QUOTAS = [0, 1, 2, 5, 10, 20, 50, 100];

document.addEventListener("DOMContentLoaded", async () => {
  const tbody = document.getElementById("accounts");
  const listMsg = document.getElementById("list-message");
  const state = { q: "", filter: "", cursors: [""], page: 0, next: null, rows: [] };
  let unlockMode = "lock"; // what the unlock dialog releases: "lock" or "mfa"
  let editing = null;
  let myLoginID = "";
  const selected = new Set();

  document.querySelectorAll("select.quota").forEach((sel) => {
    QUOTAS.forEach((q) => { const o = document.createElement("option"); o.value = q; o.textContent = q; sel.append(o); });
  });

  const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };
  const fmtTime = (s) => (s ? new Date(s).toLocaleString(kagiyaLang()) : t("never"));

  function render() {
    tbody.replaceChildren();
    if (!state.rows.length) {
      const tr = document.createElement("tr");
      const td = cell(t("admin.empty")); td.colSpan = 8; tr.append(td); tbody.append(tr);
    }
    for (const a of state.rows) {
      const tr = document.createElement("tr");
      tr.dataset.loginId = a.login_id;
      const status = document.createElement("td");
      const badge = document.createElement("span");
      badge.className = a.locked ? "badge locked" : "badge";
      badge.textContent = t(a.locked ? "admin.status.locked" : a.force_change ? "admin.status.force_change" : "admin.status.ok");
      status.append(badge);
      if (a.mfa_enabled) {
        const mfa = document.createElement("span");
        mfa.className = a.mfa_locked ? "badge locked" : "badge";
        mfa.textContent = t(a.mfa_locked ? "admin.status.mfa_locked" : "admin.status.mfa");
        status.append(" ", mfa);
      }
      const actions = document.createElement("td");
      const edit = document.createElement("button");
      edit.type = "button"; edit.className = "secondary"; edit.textContent = t("admin.edit");
      edit.setAttribute("aria-label", t("admin.edit") + " " + a.login_id);
      edit.addEventListener("click", () => openEdit(a));
      const del = document.createElement("button");
      del.type = "button"; del.className = "danger"; del.textContent = t("admin.delete");
      del.setAttribute("aria-label", t("admin.delete") + " " + a.login_id);
      del.addEventListener("click", () => openDelete(a));
      const setpw = document.createElement("button");
      setpw.type = "button"; setpw.className = "secondary setpw"; setpw.textContent = t("admin.set_password");
      setpw.setAttribute("aria-label", t("admin.set_password") + " " + a.login_id);
      setpw.hidden = a.login_id.toLowerCase() === myLoginID;
      setpw.addEventListener("click", () => openSetPassword(a));
      const mfaReset = document.createElement("button");
      mfaReset.type = "button"; mfaReset.className = "secondary mfareset"; mfaReset.textContent = t("admin.mfareset");
      mfaReset.setAttribute("aria-label", t("admin.mfareset") + " " + a.login_id);
      mfaReset.hidden = !a.mfa_enabled || a.login_id.toLowerCase() === myLoginID;
      mfaReset.addEventListener("click", () => openMFAReset(a));
      actions.append(edit, " ", setpw, " ", mfaReset, " ", del);
      const pick = document.createElement("td");
      const box = document.createElement("input");
      box.type = "checkbox"; box.className = "pick"; box.value = a.login_id;
      box.checked = selected.has(a.login_id);
      box.setAttribute("aria-label", t("admin.select") + " " + a.login_id);
      box.addEventListener("change", () => { if (box.checked) selected.add(a.login_id); else selected.delete(a.login_id); });
      pick.append(box);
      tr.append(pick, cell(a.login_id), cell(t("role." + a.role)), status, cell(a.quota_gb), cell(a.comment), cell(fmtTime(a.last_login_at)), actions);
      tbody.append(tr);
    }
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = !state.next;
  }
  document.addEventListener("kagiya:lang", render);

  async function load() {
    const params = new URLSearchParams({ limit: "20" });
    if (state.q) params.set("q", state.q);
    if (state.filter) params.set("state", state.filter);
    if (state.cursors[state.page]) params.set("cursor", state.cursors[state.page]);
    try {
      const res = await api("GET", "/api/admin/accounts?" + params);
      state.rows = res.accounts; state.next = res.next_cursor;
      render();
    } catch (e) {
      if (e.status === 401) { location.replace("/index.html"); return; }
      showMessage(listMsg, e.message, true);
    }
  }

  document.getElementById("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.q = document.getElementById("q").value.trim(); state.cursors = [""]; state.page = 0;
    state.filter = document.getElementById("state").value;
    load();
  });
  document.getElementById("next").addEventListener("click", () => {
    state.cursors[state.page + 1] = state.next; state.page++; load();
  });
  document.getElementById("prev").addEventListener("click", () => { state.page--; load(); });

  const createForm = document.getElementById("create-form");
  createForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const msg = document.getElementById("create-message");
    const pw = document.getElementById("new-password").value;
    if (pw !== document.getElementById("new-password2").value) {
      showMessage(msg, t("admin.password_mismatch"), true); return;
    }
    const body = {
      login_id: document.getElementById("new-login-id").value.trim(),
      role: document.getElementById("new-role").value,
      quota_gb: Number(document.getElementById("new-quota").value),
      comment: document.getElementById("new-comment").value,
    };
    if (pw) { body.password = pw; body.force_change = document.getElementById("new-force-change").checked; }
    try {
      await api("POST", "/api/admin/accounts", body);
      showMessage(msg, t("admin.created"), false);
      createForm.reset();
      load();
    } catch (e) {
      showMessage(msg, fieldMessages(e), true);
    }
  });

  const editDialog = document.getElementById("edit-dialog");
  function openEdit(a) {
    editing = a;
    document.getElementById("edit-login-id").textContent = a.login_id;
    document.getElementById("edit-quota").value = a.quota_gb;
    document.getElementById("edit-comment").value = a.comment;
    showMessage(document.getElementById("edit-message"), "", true);
    editDialog.showModal();
  }
  document.getElementById("edit-cancel").addEventListener("click", () => editDialog.close());
  document.getElementById("edit-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("PATCH", "/api/admin/accounts/" + encodeURIComponent(editing.login_id), {
        quota_gb: Number(document.getElementById("edit-quota").value),
        comment: document.getElementById("edit-comment").value });
      editDialog.close();
      showMessage(listMsg, t("admin.saved"), false);
      load();
    } catch (e) {
      showMessage(document.getElementById("edit-message"), fieldMessages(e), true);
    }
  });

  const unlockDialog = document.getElementById("unlock-dialog");
  const openUnlock = (mode) => {
    if (!selected.size) { showMessage(listMsg, t("admin.unlock.none"), true); return; }
    unlockMode = mode;
    document.getElementById("unlock-title").textContent = t(mode === "mfa" ? "admin.mfa_unlock.title" : "admin.unlock.title");
    document.getElementById("unlock-list").textContent = [...selected].join(", ");
    document.getElementById("unlock-confirm").value = "";
    showMessage(document.getElementById("unlock-message"), "", true);
    unlockDialog.showModal();
  };
  document.getElementById("unlock-selected").addEventListener("click", () => openUnlock("lock"));
  document.getElementById("mfa-unlock-selected").addEventListener("click", () => openUnlock("mfa"));
  document.getElementById("unlock-cancel").addEventListener("click", () => unlockDialog.close());
  document.getElementById("unlock-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const res = await api("POST", unlockMode === "mfa" ? "/api/admin/mfa/unlock" : "/api/admin/unlock", {
        login_ids: [...selected], confirm_password: document.getElementById("unlock-confirm").value });
      unlockDialog.close();
      const mfa = unlockMode === "mfa";
      let text = t(mfa ? "admin.mfa_unlocked" : "admin.unlocked") + (res.unlocked.join(", ") || "-");
      if (res.not_locked.length) text += " / " + t(mfa ? "admin.mfa_not_locked" : "admin.not_locked") + res.not_locked.join(", ");
      showMessage(listMsg, text, false);
      selected.clear();
      load();
    } catch (e) {
      document.getElementById("unlock-confirm").value = "";
      showMessage(document.getElementById("unlock-message"), e.message, true);
    }
  });

  const setpwDialog = document.getElementById("setpw-dialog");
  function openSetPassword(a) {
    editing = a;
    document.getElementById("setpw-login-id").textContent = a.login_id;
    document.getElementById("setpw-form").reset();
    showMessage(document.getElementById("setpw-message"), "", true);
    setpwDialog.showModal();
  }
  document.getElementById("setpw-cancel").addEventListener("click", () => setpwDialog.close());
  document.getElementById("setpw-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const pmsg = document.getElementById("setpw-message");
    const pw = document.getElementById("setpw-new").value;
    if (pw !== document.getElementById("setpw-new2").value) { showMessage(pmsg, t("admin.password_mismatch"), true); return; }
    try {
      await api("PATCH", "/api/admin/accounts/" + encodeURIComponent(editing.login_id), {
        password: pw, force_change: document.getElementById("setpw-force").checked,
        confirm_password: document.getElementById("setpw-confirm").value });
      setpwDialog.close();
      showMessage(listMsg, t("admin.setpw.done"), false);
      load();
    } catch (e) {
      if (e.code === "invalid_confirm_password") document.getElementById("setpw-confirm").value = "";
      showMessage(pmsg, e.code === "password_policy" ? policyChecklist.explain(e) : fieldMessages(e), true);
    }
  });
  // Only to explain refused passwords; admins see the rules of their own tenant.
  const policyChecklist = new PasswordChecklist(document.createElement("ul"), document.getElementById("setpw-new"));

  const mfaResetDialog = document.getElementById("mfareset-dialog");
  function openMFAReset(a) {
    editing = a;
    document.getElementById("mfareset-login-id").textContent = a.login_id;
    document.getElementById("mfareset-confirm").value = "";
    showMessage(document.getElementById("mfareset-message"), "", true);
    mfaResetDialog.showModal();
    document.getElementById("mfareset-cancel").focus();
  }
  document.getElementById("mfareset-cancel").addEventListener("click", () => mfaResetDialog.close());
  document.getElementById("mfareset-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("POST", "/api/admin/accounts/" + encodeURIComponent(editing.login_id) + "/mfa/reset", {
        confirm_password: document.getElementById("mfareset-confirm").value });
      mfaResetDialog.close();
      showMessage(listMsg, t("admin.mfareset.done"), false);
      load();
    } catch (e) {
      if (e.code === "invalid_confirm_password") document.getElementById("mfareset-confirm").value = "";
      showMessage(document.getElementById("mfareset-message"), fieldMessages(e), true);
    }
  });

  const deleteDialog = document.getElementById("delete-dialog");
  function openDelete(a) {
    editing = a;
    document.getElementById("delete-login-id").textContent = a.login_id;
    document.getElementById("delete-confirm").value = "";
    showMessage(document.getElementById("delete-message"), "", true);
    deleteDialog.showModal();
    document.getElementById("delete-cancel").focus();
  }
  document.getElementById("delete-cancel").addEventListener("click", () => deleteDialog.close());
  document.getElementById("delete-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("DELETE", "/api/admin/accounts/" + encodeURIComponent(editing.login_id), {
        confirm_password: document.getElementById("delete-confirm").value });
      deleteDialog.close();
      showMessage(listMsg, t("admin.deleted"), false);
      load();
    } catch (e) {
      if (e.code === "invalid_confirm_password") document.getElementById("delete-confirm").value = "";
      showMessage(document.getElementById("delete-message"), fieldMessages(e), true);
    }
  });

  const m = await me();
  if (!m) return;
  if (m.role === "user") { location.replace("/home.html"); return; }
  const wanted = new URLSearchParams(location.search).get("state");
  if (wanted && document.querySelector(`#state option[value="${CSS.escape(wanted)}"]`)) {
    state.filter = wanted;
    document.getElementById("state").value = wanted;
  }
  myLoginID = m.login_id.toLowerCase();
  policyChecklist.load().catch(() => {});
  load();
});
