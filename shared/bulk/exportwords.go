package bulk

import "strings"

// The accounts export's label columns: the role, states and login method in words, in
// the language the administrator reads (ja or en), beside the machine-readable columns
// an upload applies. An upload reads the label columns and ignores them.
const (
	ColRoleLabel   = "role_label"
	ColStateLabel  = "state_label"
	ColMethodLabel = "login_method_label"
)

// exportWords are the site's words (site/words.json: role.*, admin.status.*, method.*;
// site/words holds these equal to them), by language, then by role, state or method.
var exportWords = map[string]map[string]string{
	"ja": {
		"owner": "オーナー", "admin": "管理者", "user": "利用者",
		"ok": "利用可", "locked": "ロック中", "expired": "期限切れ", "force_change": "要パスワード変更", "disabled": "停止中",
		"invited": "招待中", "mfa_locked": "2段階認証 停止中", "confirmation_locked": "確認用パスワード 停止中",
		"mfa_enabled": "2段階認証", "legacy_hash": "旧ハッシュ",
		"password": "パスワード", "idp": "ID プロバイダー（組織のアカウント）",
	},
	"en": {
		"owner": "Owner", "admin": "Administrator", "user": "User",
		"ok": "Active", "locked": "Locked", "expired": "Expired", "force_change": "Must change password", "disabled": "Suspended",
		"invited": "Invited", "mfa_locked": "2-step locked", "confirmation_locked": "Confirmation locked",
		"mfa_enabled": "2-step", "legacy_hash": "Imported hash",
		"password": "Password", "idp": "Identity provider (your organization's account)",
	},
}

// ExportLanguages are the languages the export's words come in.
var ExportLanguages = []string{"ja", "en"}

// ExportWord is the word for a role, state or login method in lang (ja when lang is
// neither); a value it has no word for is given as it is.
func ExportWord(lang, value string) string {
	words, ok := exportWords[lang]
	if !ok {
		words = exportWords["ja"]
	}
	if w, ok := words[value]; ok {
		return w
	}
	return value
}

// ExportStates is an account's states in words, joined as the language lists things;
// no state at all is "ok" (利用可, Active).
func ExportStates(lang string, states []string) string {
	if len(states) == 0 {
		return ExportWord(lang, "ok")
	}
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = ExportWord(lang, s)
	}
	sep := "、"
	if lang == "en" {
		sep = ", "
	}
	return strings.Join(out, sep)
}
