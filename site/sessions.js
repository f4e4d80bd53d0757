// The person's signed-in browsers: list them, end one, or end all but this one.
"use strict";
kagiyaReady(async () => {
  const tbody = document.getElementById("sessions");
  const msg = document.getElementById("message");
  let rows = [];
  const cell = (text, label) => {
    const td = document.createElement("td"); td.textContent = text;
    if (label) td.dataset.label = t(label);
    return td;
  };
  const when = (s) => formatTime(s);

  function render() {
    tbody.replaceChildren();
    for (const s of rows) {
      const tr = document.createElement("tr");
      const browser = cell(s.user_agent || t("sessions.unknown_browser"), "sessions.col.browser");
      if (s.current) {
        const badge = document.createElement("span");
        badge.className = "badge"; badge.textContent = t("sessions.current");
        browser.append(" ", badge);
      }
      const actions = document.createElement("td");
      const end = document.createElement("button");
      end.type = "button"; end.className = "secondary";
      end.textContent = t(s.current ? "sessions.sign_out" : "sessions.end");
      end.setAttribute("aria-label", end.textContent + " " + (s.user_agent || "") + " " + s.ip);
      end.addEventListener("click", () => endSession(s));
      actions.append(end);
      tr.append(browser, cell(s.ip, "sessions.col.ip"), cell(when(s.created_at), "sessions.col.created"),
        cell(when(s.last_seen_at), "sessions.col.last_seen"), actions);
      tbody.append(tr);
    }
    document.getElementById("end-others").disabled = rows.length < 2;
  }
  document.addEventListener("kagiya:lang", render);

  async function load() {
    try {
      rows = (await api("GET", "/api/me/sessions")).sessions;
      render();
    } catch (e) {
      if (e.signedOut) { location.replace("/index.html"); return; }
      showMessage(msg, e.message, true);
    }
  }

  async function endSession(s) {
    try {
      await api("DELETE", "/api/me/sessions/" + encodeURIComponent(s.session_id));
      if (s.current) { sessionStorage.removeItem("kagiya.csrf"); location.assign("/index.html"); return; }
      showMessage(msg, t("sessions.ended"), false);
      load();
    } catch (e) {
      showMessage(msg, e.message, true);
    }
  }

  // Ending the others asks the current password (ASVS 3.3.4).
  const othersForm = document.getElementById("end-others-form");
  othersForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const pw = document.getElementById("current_password");
    try {
      await api("POST", "/api/me/sessions/revoke-others", { current_password: pw.value });
      flagFields(othersForm, null, msg);
      othersForm.reset();
      showMessage(msg, t("sessions.others_ended"), false);
      load();
    } catch (e) {
      showMessage(msg, fieldMessages(e), true);
      flagFields(othersForm, e, msg);
    }
  });

  const m = await me();
  if (!m) return;
  if (m.login_method === "idp") {
    // No password: a sign-in through the organization's identity provider in the last ten
    // minutes stands for it (the server says so if it is older).
    const pw = document.getElementById("current_password");
    pw.required = false;
    pw.hidden = true;
    document.querySelector("label[for=current_password]").hidden = true;
    // Older than that, or on the provider's single sign-on: a new sign-in there, which
    // comes back to this page.
    document.getElementById("sessions-idp").hidden = false;
    const link = document.getElementById("sessions-reauth");
    api("POST", "/api/login/discover", { login_id: m.login_id }).then((res) => {
      if (!res.idp) return;
      link.href = res.idp.start_url + "&to=sessions";
      const label = () => { link.textContent = t("apppw.idp_reauth").replace("{name}", res.idp.name); };
      label();
      document.addEventListener("kagiya:lang", label);
    }).catch(() => { /* the note still says what to do */ });
  }
  load();
});
