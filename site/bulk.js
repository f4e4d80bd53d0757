// The bulk page: start a job, PUT the file to its upload URL, then follow the job until it
// ends, with a progress bar, the outcome and, for a rejected file, its errors by line.
"use strict";
kagiyaReady(async () => {
  const form = document.getElementById("bulk-form");
  const msg = document.getElementById("message");
  let current = null;

  const text = (id, s) => { document.getElementById(id).textContent = s; };
  // The column help lists the tenant's password rules, in words.
  const rules = async () => {
    try {
      const d = await api("GET", "/api/password/policy");
      document.getElementById("bulk-rules").replaceChildren(...d.rules.map((r) => { const li = document.createElement("li"); li.textContent = r.text; return li; }));
    } catch (_) { /* the help stays without them */ }
  };
  document.addEventListener("kagiya:lang", rules);
  function problemText(p) {
    const key = "bulk.code." + p.code;
    const known = t(key);
    const first = p.code === "duplicate" && /line (\d+)/.exec(p.message || "");
    return (known !== key ? known : t("bulk.code.password") + (t("code." + p.code) !== "code." + p.code ? t("code." + p.code) : t("code.invalid")))
      + (first ? t("bulk.first_line").replace("{n}", first[1]) : "");
  }
  function render(job) {
    const first = !current || current.job_id !== job.job_id;
    current = job;
    document.getElementById("job").hidden = false;
    if (first) document.getElementById("job").scrollIntoView({ block: "start" });
    text("job-file", job.filename);
    text("job-state", t("bulk.state." + job.state));
    const bar = document.getElementById("job-progress");
    bar.max = Math.max(job.to_apply, 1);
    bar.value = job.state === "succeeded" ? bar.max : job.applied;
    let outcome = "";
    if (job.state === "succeeded") {
      outcome = job.mode === "create" ? t("bulk.created").replace("{n}", job.created) : t("bulk.updated").replace("{n}", job.updated);
    } else if (job.state === "rejected") {
      outcome = t("bulk.rejected").replace("{n}", job.errors_total);
    } else if (job.state === "failed") {
      outcome = t("bulk.failed");
    } else if (job.state === "applying") {
      outcome = t("bulk.progress").replace("{a}", job.applied).replace("{n}", job.to_apply);
    }
    if (job.state === "succeeded" && job.invited) outcome += " " + t("bulk.invited").replace("{n}", job.invited);
    text("job-outcome", outcome);
    document.getElementById("job-imported").hidden = !(job.state === "succeeded" && job.imported);
    text("job-imported-text", t("bulk.hash.imported").replace("{n}", job.imported || 0));
    text("job-skipped", job.skipped_total ? t("bulk.skipped").replace("{n}", job.skipped_total) + job.skipped.join(", ") + (job.skipped_total > job.skipped.length ? " …" : "") : "");
    const refused = document.getElementById("job-refused");
    refused.hidden = !job.refused_total;
    refused.textContent = job.refused_total ? t("bulk.refused").replace("{n}", job.refused_total) + (job.refused || []).join(", ") + (job.refused_total > (job.refused || []).length ? " …" : "") : "";
    const table = document.getElementById("job-errors");
    const body = table.querySelector("tbody");
    body.replaceChildren();
    for (const p of job.errors) {
      const tr = document.createElement("tr");
      for (const v of [p.line, p.column || "", problemText(p)]) {
        const td = document.createElement("td"); td.textContent = v; tr.append(td);
      }
      body.append(tr);
    }
    table.hidden = job.errors.length === 0;
    const download = document.getElementById("job-errors-download");
    download.hidden = job.errors.length === 0;
    download.onclick = () => {
      // The report, line by line, as a CSV file (UTF-8 with BOM, for spreadsheets).
      const q = (v) => '"' + String(v).replace(/"/g, '""') + '"';
      const lines = [[t("bulk.col.line"), t("bulk.col.column"), t("bulk.col.problem")].map(q).join(",")]
        .concat(job.errors.map((p) => [p.line, p.column || "", problemText(p)].map(q).join(",")));
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv" }));
      a.download = (job.filename || "upload").replace(/\.csv$/i, "") + "-errors.csv";
      document.body.append(a);
      a.click();
      a.remove();
    };
    text("job-more", job.errors_total > job.errors.length ? t("bulk.more").replace("{n}", job.errors_total - job.errors.length) : "");
  }
  let recent = [];
  function renderJobs() {
    const body = document.querySelector("#jobs tbody");
    body.replaceChildren();
    for (const j of recent) {
      const tr = document.createElement("tr");
      const file = document.createElement("td");
      file.dataset.label = t("bulk.col.file");
      const link = document.createElement("a");
      link.href = "?job=" + encodeURIComponent(j.job_id);
      link.textContent = j.filename;
      file.append(link);
      const state = document.createElement("td");
      state.dataset.label = t("bulk.col.state");
      state.textContent = t("bulk.state." + j.state);
      const started = document.createElement("td");
      started.dataset.label = t("bulk.col.started");
      started.textContent = formatTime(j.created_at);
      tr.append(file, state, started);
      body.append(tr);
    }
    document.getElementById("jobs-empty").hidden = recent.length > 0;
  }
  async function loadJobs() {
    try {
      recent = (await api("GET", "/api/admin/bulk")).jobs;
      renderJobs();
    } catch (e) {
      showMessage(msg, e.message, true);
    }
  }
  document.addEventListener("kagiya:lang", () => { if (current) render(current); renderJobs(); });

  async function follow(id) {
    for (;;) {
      const job = await api("GET", "/api/admin/bulk/" + encodeURIComponent(id));
      render(job);
      if (["succeeded", "rejected", "failed"].includes(job.state)) return;
      await new Promise((r) => setTimeout(r, 700));
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = document.getElementById("file").files[0];
    if (!file) { showMessage(msg, t("bulk.nofile"), true); return; }
    const button = document.getElementById("submit");
    button.disabled = true;
    showMessage(msg, "", false);
    try {
      const start = await api("POST", "/api/admin/bulk", {
        filename: file.name, mode: form.mode.value, force_change: document.getElementById("force_change").checked,
        allow_weak_hashes: document.getElementById("allow_weak_hashes").checked,
        invite: document.getElementById("invite").checked, size: file.size,
        confirm_password: document.getElementById("confirm_password").value });
      document.getElementById("confirm_password").value = "";
      render(start.job);
      const put = await fetch(start.upload_url, { method: start.upload_method, headers: start.upload_headers, body: file });
      if (!put.ok) throw new Error(t("bulk.upload_failed"));
      history.replaceState(null, "", "?job=" + start.job_id);
      await follow(start.job_id);
      loadJobs();
    } catch (e) {
      if (e.code === "invalid_confirm_password") document.getElementById("confirm_password").value = "";
      showMessage(msg, fieldMessages(e), true);
    } finally {
      button.disabled = false;
    }
  });

  const m = await me();
  if (!m) return;
  if (m.role === "user") { location.replace("/home.html"); return; }
  rules();
  loadJobs();
  const job = new URLSearchParams(location.search).get("job");
  if (job) follow(job).catch((e) => showMessage(msg, e.message, true));
});
