package httpapi

// messages are the people-facing texts of each stable error code, ja first.
var messages = map[string][2]string{
	"invalid_request":          {"リクエストの内容が正しくありません。", "The request is not valid."},
	"malformed_json":           {"リクエストの JSON を読み取れません。", "The request body is not valid JSON."},
	"unknown_field":            {"リクエストに不明な項目が含まれています。", "The request has a field this endpoint does not know."},
	"unsupported_media_type":   {"Content-Type は application/json にしてください。", "Send the body as application/json."},
	"body_too_large":           {"リクエストが大きすぎます。", "The request body is too large."},
	"validation":               {"入力内容に誤りがあります。", "Some of the values are not valid."},
	"invalid_credentials":      {"ログインIDまたはパスワードが正しくありません。", "The login ID or password is incorrect."},
	"unauthenticated":          {"ログインしてください。", "Please sign in."},
	"invalid_token":            {"このリンクは無効か、有効期限が切れているか、すでに使われています。もう一度お手続きください。", "This link is not valid, has expired or has been used already. Please start again."},
	"invalid_confirm_password": {"確認のためのパスワードが正しくありません。", "Your confirmation password is incorrect."},
	"invalid_current_password": {"現在のパスワードが正しくありません。", "Your current password is incorrect."},
	"csrf":                     {"画面を再読み込みしてから、もう一度お試しください。", "Reload the page and try again."},
	"forbidden":                {"この操作を行う権限がありません。", "You are not allowed to do this."},
	"not_found":                {"見つかりません。", "Not found."},
	"conflict":                 {"すでに存在するか、ほかの操作で変更されました。", "It already exists, or someone else changed it."},
	"use_self_service":         {"ご自身のパスワードは「パスワード変更」画面から変更してください。", "Change your own password on the password change page."},
	"password_policy":          {"パスワードがルールを満たしていません。", "The password does not meet the rules."},
	"rate_limited":             {"試行回数が多すぎます。しばらくしてからお試しください。", "Too many attempts. Please wait and try again."},
	"method_not_allowed":       {"この操作はできません。", "This method is not allowed here."},
	"unavailable":              {"この機能は現在ご利用いただけません。", "This feature is not available here."},
	"internal":                 {"サーバーでエラーが発生しました。しばらくしてからお試しください。", "Something went wrong on our side. Please try again later."},
}

func message(code, lang string) string {
	m, ok := messages[code]
	if !ok {
		m = messages["invalid_request"]
	}
	if lang == "en" {
		return m[1]
	}
	return m[0]
}
