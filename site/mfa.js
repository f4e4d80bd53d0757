// Second-factor pieces shared by the sign-in page and the security page: the enrolment
// (QR code and the key as text) and the recovery codes, shown once, with copy, download
// and "I have saved them" before going on.
"use strict";

// fillEnrolment puts an enrolment (secret, otpauth_url, qr_png) into the elements of a
// container: img.qr and code.secret.
function fillEnrolment(container, e) {
  const img = container.querySelector("img.qr");
  img.src = e.qr_png;
  img.alt = t("mfa.qr_alt");
  // Grouped in fours, as the apps show it; spaces are ignored when typed in.
  container.querySelector("code.secret").textContent = e.secret.replace(/(.{4})/g, "$1 ").trim();
}

// showRecoveryCodes lists codes in the panel (a section with ol.codes, buttons .copy and
// .download, input.saved and button.continue) and calls onContinue once the person has
// said it saved them.
function showRecoveryCodes(panel, codes, onContinue) {
  const list = panel.querySelector("ol.codes");
  list.replaceChildren(...codes.map((c) => {
    const li = document.createElement("li");
    li.textContent = c;
    return li;
  }));
  const status = panel.querySelector(".codes-status");
  const text = () => t("mfa.codes_file_head") + "\n\n" + codes.join("\n") + "\n";
  panel.querySelector("button.copy").onclick = async () => {
    try {
      await navigator.clipboard.writeText(text());
      showMessage(status, t("mfa.copied"), false);
    } catch (_) {
      showMessage(status, t("mfa.copy_failed"), true);
    }
  };
  panel.querySelector("button.download").onclick = () => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text()], { type: "text/plain" }));
    a.download = "kagiya-recovery-codes.txt";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  const saved = panel.querySelector("input.saved");
  const go = panel.querySelector("button.continue");
  saved.checked = false;
  go.disabled = true;
  saved.onchange = () => { go.disabled = !saved.checked; };
  go.onclick = () => { list.replaceChildren(); panel.hidden = true; onContinue(); };
  panel.hidden = false;
  panel.querySelector("h2").focus();
}
