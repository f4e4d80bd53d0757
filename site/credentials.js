"use strict";
// A list of named secrets (app passwords, service credentials) with their last use, a
// form that makes one and shows its secret once, and a revoke button per row.
//
// opts: { root (the section), list(): Promise<[{id, name, created_at, last_used_at}]>,
//   create(name, password): Promise<{secret}> (when the section has a form),
//   revoke(id, password): Promise, revokeNeedsPassword: bool,
//   labels: the three columns' i18n keys (default name, created, last used) }
function credentialSection(opts) {
  const root = opts.root;
  const tbody = root.querySelector("tbody");
  const empty = root.querySelector(".cred-empty");
  const form = root.querySelector("form.cred-create");
  const msg = root.querySelector("[data-cred=message]");
  const shown = root.querySelector(".cred-shown");
  const secretOut = root.querySelector(".cred-secret");
  let rows = [];
  const fmt = (s) => (s ? formatTime(s) : t("never"));
  const fail = (e) => {
    if (e.signedOut) { location.replace("/index.html"); return; }
    showMessage(msg, fieldMessages(e), true);
  };
  const render = () => {
    tbody.replaceChildren();
    empty.hidden = rows.length > 0;
    for (const r of rows) {
      const tr = document.createElement("tr");
      const labels = opts.labels || ["cred.name", "cred.created", "cred.last_used"];
      for (const [label, text] of [[labels[0], r.name], [labels[1], fmt(r.created_at)], [labels[2], fmt(r.last_used_at)]]) {
        const td = document.createElement("td");
        td.dataset.label = t(label);
        td.textContent = text;
        tr.append(td);
      }
      const td = document.createElement("td");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "danger revoke";
      b.textContent = t("cred.revoke");
      b.setAttribute("aria-label", t("cred.revoke") + ": " + r.name);
      b.addEventListener("click", async () => {
        let pw = "";
        if (opts.revokeNeedsPassword) {
          pw = form.querySelector("input[type=password]").value;
          if (!pw) { showMessage(msg, t("cred.revoke_needs_password"), true); form.querySelector("input[type=password]").focus(); return; }
        }
        b.disabled = true;
        try {
          await opts.revoke(r.id, pw);
          if (form) form.querySelector("input[type=password]").value = "";
          showMessage(msg, t("cred.revoked").replace("{name}", r.name), false);
          await load();
        } catch (e) {
          fail(e);
        } finally {
          b.disabled = false;
        }
      });
      td.append(b);
      tr.append(td);
      tbody.append(tr);
    }
  };
  const load = async () => {
    rows = await opts.list();
    render();
  };
  document.addEventListener("kagiya:lang", render);
  if (!form) return load().catch(fail);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showMessage(msg, "", false);
    try {
      const made = await opts.create(form.querySelector("input[type=text]").value.trim(), form.querySelector("input[type=password]").value);
      form.reset();
      secretOut.textContent = made.secret;
      shown.hidden = false;
      shown.querySelector("h3").focus();
      await load();
    } catch (e) {
      fail(e);
    } finally {
      button.disabled = false;
    }
  });
  root.querySelector(".cred-copy").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(secretOut.textContent); showMessage(msg, t("mfa.copied"), false); } catch (_) { /* selecting it by hand still works */ }
  });
  root.querySelector(".cred-done").addEventListener("click", () => {
    secretOut.textContent = "";
    shown.hidden = true;
  });
  return load().catch(fail);
}
