// Kagiya site strings (ja, en) and the language switch, remembered in localStorage.
"use strict";
const KAGIYA_STRINGS = {
  ja: {
    "app.name": "Kagiya",
    "lang.switch": "English",
    "signin.title": "サインイン",
    "signin.login_id": "ログインID（メールアドレス）",
    "signin.password": "パスワード",
    "signin.submit": "サインイン",
    "signin.forgot": "パスワードをお忘れの方",
    "forgot.title": "パスワードの再設定",
    "forgot.lead": "ログインIDを入力してください。登録されているアカウントであれば、再設定用のリンクをメールでお送りします。",
    "forgot.submit": "再設定メールを送る",
    "forgot.sent": "受け付けました。登録されているアカウントであれば、まもなくメールが届きます。リンクの有効期限は60分です。",
    "back.signin": "サインイン画面へ戻る",
    "reset.title": "新しいパスワードの設定",
    "reset.new": "新しいパスワード",
    "reset.new2": "新しいパスワード（確認）",
    "reset.submit": "パスワードを設定する",
    "reset.done": "パスワードを変更しました。新しいパスワードでサインインしてください。",
    "reset.no_token": "リンクが正しくありません。メールのリンクをもう一度開くか、再設定をやり直してください。",
    "unlock.title": "アカウントのロック解除",
    "unlock.lead": "下のボタンを押すと、アカウントのロックを解除します。",
    "unlock.submit": "ロックを解除する",
    "unlock.done": "ロックを解除しました。サインインしてください。",
    "admin.select": "選択",
    "admin.unlock_selected": "選択したアカウントのロックを解除",
    "admin.unlock.title": "ロックの解除",
    "admin.unlock.lead": "確認のため、あなたのパスワードを入力してください。",
    "admin.unlock.confirm": "あなたのパスワード",
    "admin.unlock.ok": "解除する",
    "admin.unlock.none": "ロックを解除するアカウントを選んでください。",
    "admin.unlocked": "ロックを解除しました: ",
    "admin.not_locked": "ロックされていなかったアカウント: ",
    "home.title": "ホーム",
    "home.signed_in_as": "サインイン中のアカウント",
    "home.role": "権限",
    "home.tenant": "テナント",
    "home.admin_link": "アカウント管理",
    "home.signout": "サインアウト",
    "role.owner": "オーナー", "role.admin": "管理者", "role.user": "利用者",
    "admin.title": "アカウント管理",
    "admin.back": "ホームへ戻る",
    "admin.search": "検索（ログインIDの一部）",
    "admin.search_submit": "検索",
    "admin.col.login_id": "ログインID", "admin.col.role": "権限", "admin.col.status": "状態",
    "admin.col.quota": "容量 (GB)", "admin.col.comment": "コメント", "admin.col.last_login": "最終ログイン",
    "admin.col.actions": "操作",
    "admin.status.ok": "利用可", "admin.status.locked": "ロック中", "admin.status.force_change": "要パスワード変更",
    "admin.edit": "編集", "admin.delete": "削除",
    "admin.prev": "前へ", "admin.next": "次へ",
    "admin.empty": "該当するアカウントはありません。",
    "admin.create.title": "アカウントの作成",
    "admin.create.login_id": "ログインID（メールアドレス）",
    "admin.create.role": "権限",
    "admin.create.password": "初期パスワード（任意）",
    "admin.create.password2": "初期パスワード（確認）",
    "admin.create.force_change": "次回ログイン時にパスワードの変更を求める",
    "admin.create.quota": "容量 (GB)",
    "admin.create.comment": "コメント",
    "admin.create.submit": "作成",
    "admin.created": "アカウントを作成しました。",
    "admin.edit.title": "アカウントの編集",
    "admin.save": "保存", "admin.cancel": "キャンセル",
    "admin.saved": "保存しました。",
    "admin.delete.confirm": "このアカウントを削除します。元に戻せません。よろしいですか？",
    "admin.delete.ok": "削除する",
    "admin.deleted": "削除しました。",
    "admin.password_mismatch": "確認用のパスワードが一致しません。",
    "never": "なし",
    "error.network": "サーバーに接続できません。",
  },
  en: {
    "app.name": "Kagiya",
    "lang.switch": "日本語",
    "signin.title": "Sign in",
    "signin.login_id": "Login ID (email address)",
    "signin.password": "Password",
    "signin.submit": "Sign in",
    "signin.forgot": "Forgot your password?",
    "forgot.title": "Reset your password",
    "forgot.lead": "Enter your login ID. If it is a registered account, we will email you a link to reset the password.",
    "forgot.submit": "Send the reset email",
    "forgot.sent": "Done. If the account is registered, an email is on its way. The link works for 60 minutes.",
    "back.signin": "Back to sign-in",
    "reset.title": "Choose a new password",
    "reset.new": "New password",
    "reset.new2": "New password (again)",
    "reset.submit": "Set the password",
    "reset.done": "Your password was changed. Sign in with the new one.",
    "reset.no_token": "This link is not complete. Open the link in the email again, or start over.",
    "unlock.title": "Unlock your account",
    "unlock.lead": "Press the button to unlock your account.",
    "unlock.submit": "Unlock my account",
    "unlock.done": "Your account is unlocked. You can sign in.",
    "admin.select": "Select",
    "admin.unlock_selected": "Unlock the selected accounts",
    "admin.unlock.title": "Unlock accounts",
    "admin.unlock.lead": "To confirm, enter your own password.",
    "admin.unlock.confirm": "Your password",
    "admin.unlock.ok": "Unlock",
    "admin.unlock.none": "Select the accounts to unlock.",
    "admin.unlocked": "Unlocked: ",
    "admin.not_locked": "Were not locked: ",
    "home.title": "Home",
    "home.signed_in_as": "Signed in as",
    "home.role": "Role",
    "home.tenant": "Tenant",
    "home.admin_link": "Manage accounts",
    "home.signout": "Sign out",
    "role.owner": "Owner", "role.admin": "Administrator", "role.user": "User",
    "admin.title": "Accounts",
    "admin.back": "Back to home",
    "admin.search": "Search (part of a login ID)",
    "admin.search_submit": "Search",
    "admin.col.login_id": "Login ID", "admin.col.role": "Role", "admin.col.status": "Status",
    "admin.col.quota": "Quota (GB)", "admin.col.comment": "Comment", "admin.col.last_login": "Last sign-in",
    "admin.col.actions": "Actions",
    "admin.status.ok": "Active", "admin.status.locked": "Locked", "admin.status.force_change": "Must change password",
    "admin.edit": "Edit", "admin.delete": "Delete",
    "admin.prev": "Previous", "admin.next": "Next",
    "admin.empty": "No matching accounts.",
    "admin.create.title": "Create an account",
    "admin.create.login_id": "Login ID (email address)",
    "admin.create.role": "Role",
    "admin.create.password": "Initial password (optional)",
    "admin.create.password2": "Initial password (again)",
    "admin.create.force_change": "Ask for a new password at next sign-in",
    "admin.create.quota": "Quota (GB)",
    "admin.create.comment": "Comment",
    "admin.create.submit": "Create",
    "admin.created": "The account was created.",
    "admin.edit.title": "Edit account",
    "admin.save": "Save", "admin.cancel": "Cancel",
    "admin.saved": "Saved.",
    "admin.delete.confirm": "This deletes the account for good. Are you sure?",
    "admin.delete.ok": "Delete",
    "admin.deleted": "Deleted.",
    "admin.password_mismatch": "The two passwords differ.",
    "never": "never",
    "error.network": "Cannot reach the server.",
  },
};

function kagiyaLang() {
  const saved = localStorage.getItem("kagiya.lang");
  if (saved === "ja" || saved === "en") return saved;
  return (navigator.language || "ja").toLowerCase().startsWith("en") ? "en" : "ja";
}

function t(key) {
  return KAGIYA_STRINGS[kagiyaLang()][key] || key;
}

function applyLang() {
  const lang = kagiyaLang();
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  const title = document.querySelector("[data-i18n-title]");
  if (title) document.title = t(title.dataset.i18nTitle) + " - Kagiya";
  document.dispatchEvent(new CustomEvent("kagiya:lang"));
}

document.addEventListener("DOMContentLoaded", () => {
  applyLang();
  const sw = document.getElementById("lang-switch");
  if (sw) {
    sw.addEventListener("click", () => {
      localStorage.setItem("kagiya.lang", kagiyaLang() === "ja" ? "en" : "ja");
      applyLang();
    });
  }
});
