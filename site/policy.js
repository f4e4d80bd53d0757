// The live password checklist: the tenant's rules from GET /api/password/policy, ticked
// off in the browser as the person types. The server checks again on save; rules only it
// can check (common, reused, same as current) are marked as such.
"use strict";

function passwordRuleMet(rule, pw, policy) {
  const chars = [...pw.normalize("NFC")];
  const lower = pw.toLowerCase();
  const at = policy.login_id.lastIndexOf("@");
  const local = policy.login_id.slice(0, Math.max(at, 0)).toLowerCase();
  const domain = policy.login_id.slice(at + 1).toLowerCase();
  const isSymbol = (c) => !/[A-Za-z0-9]/.test(c);
  switch (rule.code) {
    case "too_short": return chars.length >= rule.min;
    case "too_long": return chars.length <= rule.max;
    case "missing_lower": return /[a-z]/.test(pw);
    case "missing_upper": return /[A-Z]/.test(pw);
    case "missing_letter": return /[A-Za-z]/.test(pw);
    case "missing_digit": return /[0-9]/.test(pw);
    case "missing_symbol": return chars.some((c) => rule.symbols.includes(c));
    case "too_few_classes":
      return [/[a-z]/.test(pw), /[A-Z]/.test(pw), /[0-9]/.test(pw), chars.some(isSymbol)].filter(Boolean).length >= rule.min;
    case "invalid_char":
      if (rule.symbols) return chars.every((c) => /[A-Za-z0-9]/.test(c) || rule.symbols.includes(c));
      if (policy.preset === "nist") return chars.every((c) => !/[\u0000-\u001f\u007f-\u009f]/.test(c));
      return chars.every((c) => c >= "!" && c <= "~");
    case "contains_account": return local.length < 3 || !lower.includes(local);
    case "contains_domain": return !domain || !lower.includes(domain);
    case "digit_run": return !new RegExp("[0-9]{" + (rule.max + 1) + "}").test(pw);
    default: return null; // checked by the server
  }
}

// PasswordChecklist renders the rules into list and keeps them up to date with input.
class PasswordChecklist {
  constructor(list, input) {
    this.list = list;
    this.input = input;
    this.policy = null;
    this.account = ""; // the account the rules are checked for, when not the policy's own
    input.addEventListener("input", () => this.update());
  }

  // load reads the rules: from /api/password/policy with query, or from query itself
  // when it is a path (the local server's first-run page).
  async load(query) {
    this.policy = await api("GET", query && query.startsWith("/") ? query : "/api/password/policy" + (query || ""));
    this.render();
  }

  render() {
    if (!this.policy) return;
    this.list.replaceChildren();
    for (const rule of this.policy.rules) {
      const li = document.createElement("li");
      li.dataset.code = rule.code;
      const mark = document.createElement("span");
      mark.className = "mark";
      mark.setAttribute("aria-hidden", "true");
      const state = document.createElement("span");
      state.className = "sr-only";
      const text = document.createElement("span");
      text.textContent = rule.text;
      li.append(mark, state, text);
      this.list.append(li);
    }
    this.update();
  }

  // forAccount checks the rules that name the account (contains_account,
  // contains_domain) against loginID: an administrator setting another's password.
  forAccount(loginID) {
    this.account = loginID;
    this.update();
  }

  // update marks each rule: neutral (pending) until something is typed, then met or
  // unmet (red) by what is typed; rules only the server checks stay "checked on save".
  update() {
    if (!this.policy) return;
    const pw = this.input.value;
    const policy = this.account ? { ...this.policy, login_id: this.account } : this.policy;
    this.list.querySelectorAll("li").forEach((li) => {
      const rule = this.policy.rules.find((r) => r.code === li.dataset.code);
      const met = passwordRuleMet(rule, pw, policy);
      const state = met === null ? "server" : !pw ? "pending" : met ? "met" : "unmet";
      li.className = "rule " + state;
      li.querySelector(".mark").textContent = { met: "✓", unmet: "✗", pending: "・", server: "…" }[state];
      li.querySelector(".sr-only").textContent = t("rule." + state) + ": ";
    });
  }

  // broken lists the rules the browser can check that the value breaks (also when
  // nothing is typed yet).
  broken() {
    if (!this.policy) return [];
    const policy = this.account ? { ...this.policy, login_id: this.account } : this.policy;
    return this.policy.rules.filter((r) => passwordRuleMet(r, this.input.value, policy) === false);
  }

  // refuse stops a submit while a rule the browser can check is broken: it says which
  // in msgEl, marks the field and the rules, and returns true. The server checks again.
  refuse(form, msgEl) {
    const broken = this.broken();
    if (!broken.length) return false;
    this.update();
    const codes = new Set(broken.map((r) => r.code));
    for (const li of this.list.querySelectorAll("li.pending")) { // nothing typed yet: show what that breaks
      if (!codes.has(li.dataset.code)) continue;
      li.className = "rule unmet";
      li.querySelector(".mark").textContent = "✗";
      li.querySelector(".sr-only").textContent = t("rule.unmet") + ": ";
    }
    showMessage(msgEl, t("rule.broken") + broken.map((r) => r.text).join(" / "), true);
    flagFields(form, { fields: [{ field: this.input.id }] }, msgEl);
    return true;
  }

  // explain turns a password_policy error into sentences, one per broken rule.
  explain(err) {
    if (err.code !== "password_policy") return fieldMessages(err);
    const texts = err.fields.map((f) => {
      const rule = this.policy && this.policy.rules.find((r) => r.code === f.code);
      return t("rule.broken") + (rule ? rule.text : t("code." + f.code));
    });
    return err.message + " " + texts.join(" / ");
  }
}
