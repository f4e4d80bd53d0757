// Package errcode is the one table of Kagiya's stable error codes (docs/api.md): for each, the
// HTTP status it answers with and its message in Japanese and English. The API handler
// answers from it, the site's errors.js is generated from it (go generate), and a test
// holds every code the code base returns, and the generated file, to it.
package errcode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

//go:generate go run ./gen

// Entry is one stable code.
type Entry struct {
	Code   string
	Status int
	Ja, En string
}

var table = []Entry{
	{"invalid_request", http.StatusBadRequest, "リクエストの内容が正しくありません。", "The request is not valid."},
	{"malformed_json", http.StatusBadRequest, "リクエストの JSON を読み取れません。", "The request body is not valid JSON."},
	{"unknown_field", http.StatusBadRequest, "リクエストに不明な項目が含まれています。", "The request has a field this endpoint does not know."},
	{"unsupported_media_type", http.StatusUnsupportedMediaType, "Content-Type は application/json にしてください。", "Send the body as application/json."},
	{"body_too_large", http.StatusRequestEntityTooLarge, "リクエストが大きすぎます。", "The request body is too large."},
	{"validation", http.StatusUnprocessableEntity, "入力内容に誤りがあります。", "Some of the values are not valid."},
	{"control_characters", http.StatusUnprocessableEntity, "名前に改行・制御文字・表示されない文字（書字方向の制御など）は使えません。", "A name cannot hold line breaks, control characters or invisible characters such as bidi controls."},
	{"password_policy", http.StatusUnprocessableEntity, "パスワードがルールを満たしていません。", "The password does not meet the rules."},
	{"invalid_credentials", http.StatusUnauthorized, "ログインIDまたはパスワードが正しくありません。", "The login ID or password is incorrect."},
	{"unauthenticated", http.StatusUnauthorized, "ログインしてください。", "Please sign in."},
	{"invalid_token", http.StatusBadRequest, "このリンクは無効か、有効期限が切れているか、すでに使われています。もう一度お手続きください。", "This link is not valid, has expired or has been used already. Please start again."},
	{"invalid_confirm_password", http.StatusForbidden, "確認のためのパスワードが正しくありません。", "Your confirmation password is incorrect."},
	{"invalid_current_password", http.StatusForbidden, "現在のパスワードが正しくありません。", "Your current password is incorrect."},
	{"invalid_code", http.StatusUnauthorized, "確認コードが正しくありません。認証アプリに表示されている最新のコードを入力してください。", "The code is not correct. Enter the latest code your authenticator app shows."},
	{"mfa_locked", http.StatusForbidden, "確認コードの誤りが続いたため、2段階認証が利用停止になりました。リカバリーコードでログインするか、管理者に解除を依頼してください。", "Too many wrong codes: your second factor is locked. Sign in with a recovery code, or ask your administrator to release it."},
	{"mfa_required_by_tenant", http.StatusForbidden, "この組織では2段階認証が必須のため、無効にできません。", "Your organization requires a second factor, so it cannot be turned off."},
	{"mfa_already_enabled", http.StatusConflict, "2段階認証はすでに有効です。", "Your second factor is already on."},
	{"mfa_not_enabled", http.StatusConflict, "2段階認証は有効になっていません。", "You have no second factor."},
	{"mfa_not_pending", http.StatusConflict, "設定の有効期限が切れました。はじめからやり直してください。", "The setup has expired. Please start again."},
	{"confirmation_password_not_set", http.StatusConflict, "確認用パスワードが設定されていないか、変更が必要です。「セキュリティ」画面で確認用パスワードを設定してください。", "You have no confirmation password yet, or must replace the one you were given. Set your confirmation password on the security page."},
	{"confirmation_locked", http.StatusForbidden, "確認用パスワードの誤りが続いたため、確認用パスワードが利用停止になりました。管理者に解除を依頼してください。ログインパスワードは引き続き使えます。", "Too many wrong confirmation passwords: your confirmation password is locked. Ask your administrator to release it. Your sign-in password still works."},
	{"network_not_allowed", http.StatusForbidden, "このネットワークからは利用できません。組織で許可されたネットワークから接続するか、管理者にお問い合わせください。", "You cannot use this service from this network. Connect from a network your organization allows, or contact your administrator."},
	{"passkey_rejected", http.StatusBadRequest, "パスキーを確認できませんでした。もう一度お試しください。", "The passkey could not be verified. Please try again."},
	{"not_invited", http.StatusConflict, "このアカウントは招待中ではありません。", "This account is not waiting for an invitation."},
	{"invalid_service_credential", http.StatusUnauthorized, "サービス認証情報が正しくないか、失効しています。", "The service credential is missing, wrong or revoked."},
	{"csrf", http.StatusForbidden, "画面を再読み込みしてから、もう一度お試しください。", "Reload the page and try again."},
	{"forbidden", http.StatusForbidden, "この操作を行う権限がありません。", "You are not allowed to do this."},
	{"use_self_service", http.StatusForbidden, "ご自身のアカウントは、ご自身の画面（パスワード変更、ログイン中の端末など）から操作してください。", "Use your own pages (password change, signed-in devices) for your own account."},
	{"audit_archived", http.StatusUnprocessableEntity, "監査ログの画面と CSV で扱えるのは、保存期間（既定で90日）内の記録だけです。それより前の記録は、運用者が保管する監査アーカイブにあります。必要なときは運用者にお問い合わせください。", "The audit page and its CSV export hold events for a set time (90 days by default). Older events are in the audit archive your operator keeps: ask your operator for them."},
	{"not_found", http.StatusNotFound, "見つかりません。", "Not found."},
	{"method_not_allowed", http.StatusMethodNotAllowed, "この操作はできません。", "This method is not allowed here."},
	{"conflict", http.StatusConflict, "ほかの操作で変更されました。画面を再読み込みしてください。", "Someone else changed it meanwhile. Reload and try again."},
	{"login_id_taken", http.StatusConflict, "このログインIDはすでに使われています。", "This login ID is already in use."},
	{"domain_taken", http.StatusConflict, "このドメインはほかの組織が確認済みです。", "Another organization has verified this domain."},
	{"domain_not_verified", http.StatusUnprocessableEntity, "ドメインに確認用の TXT レコードが見つかりません。レコードを公開してから、もう一度お試しください。", "The domain's verification TXT record was not found. Publish the record, then try again."},
	{"idp_state", http.StatusBadRequest, "組織のログイン画面からの戻りを確認できませんでした（時間がたちすぎたか、別のブラウザーで始めた手続きです）。もう一度ログインしてください。", "We could not match your return from your organization's sign-in page (it took too long, or it was started in another browser). Please sign in again."},
	{"idp_unavailable", http.StatusBadGateway, "組織のログインサービスに接続できませんでした。しばらくしてからお試しください。続く場合は管理者にお問い合わせください。", "Your organization's sign-in service could not be reached. Please try again later, and tell your administrator if it goes on."},
	{"idp_rejected", http.StatusUnauthorized, "組織のログインサービスからの応答を確認できなかったため、ログインできませんでした。もう一度お試しください。", "The answer from your organization's sign-in service could not be verified, so you are not signed in. Please try again."},
	{"idp_token_invalid", http.StatusUnauthorized, "組織のログインサービスから受け取った本人確認の情報（ID トークン）が正しくないか期限切れのため、ログインできませんでした。もう一度お試しください。続く場合は管理者にお問い合わせください。", "The proof of identity from your organization's sign-in service (its ID token) was not valid or had expired, so you are not signed in. Please try again, and tell your administrator if it goes on."},
	{"idp_wrong_tenant", http.StatusForbidden, "組織のログインサービスでログインしたアカウントのメールアドレスは、この組織のものではありません。この組織のアカウントでログインし直してください。", "The account you signed in with at your organization's sign-in service has an email address that is not this organization's. Sign in again with this organization's account."},
	{"idp_denied", http.StatusUnauthorized, "組織のログインサービスでのログインが完了しませんでした。", "The sign-in at your organization's sign-in service was not completed."},
	{"idp_no_account", http.StatusForbidden, "このアカウントでログインできる利用者が見つかりません。管理者にお問い合わせください。", "No account here may sign in with that account. Please ask your administrator."},
	{"idp_email_unverified", http.StatusForbidden, "組織のログインサービスでメールアドレスが確認されていないため、ログインできません。管理者にお問い合わせください。", "Your organization's sign-in service has not confirmed your email address, so you cannot sign in. Please ask your administrator."},
	{"idp_account_disabled", http.StatusForbidden, "このアカウントは利用停止中です。管理者にお問い合わせください。", "This account is suspended. Please ask your administrator."},
	{"idp_reauth_required", http.StatusForbidden, "この操作の前に、組織のアカウント（ID プロバイダー）でもう一度ログインしてください。ログインから10分以内ならこの操作ができます。", "First sign in again with your organization's account (its identity provider): this can be done within 10 minutes of signing in."},
	{"file_too_large", http.StatusRequestEntityTooLarge, "ファイルが大きすぎます（64 MiB まで）。", "The file is too large (64 MiB at most)."},
	{"rate_limited", http.StatusTooManyRequests, "試行回数が多すぎます。しばらくしてからお試しください。", "Too many attempts. Please wait and try again."},
	{"internal", http.StatusInternalServerError, "サーバーでエラーが発生しました。しばらくしてからお試しください。", "Something went wrong on our side. Please try again later."},
	{"unavailable", http.StatusServiceUnavailable, "この機能は現在ご利用いただけません。", "This feature is not available here."},
	{"schema_newer", http.StatusServiceUnavailable, "サービスを更新中のため、現在ご利用いただけません。しばらくしてからお試しください。", "The service is being upgraded and is not available. Please try again later."},
}

var byCode = func() map[string]Entry {
	m := make(map[string]Entry, len(table))
	for _, e := range table {
		m[e.Code] = e
	}
	return m
}()

// All returns every entry, in the table's order.
func All() []Entry { return append([]Entry(nil), table...) }

// Lookup returns the entry of code.
func Lookup(code string) (Entry, bool) {
	e, ok := byCode[code]
	return e, ok
}

// Status is the HTTP status of code; a code missing from the table (a test forbids that)
// answers 400.
func Status(code string) int {
	if e, ok := byCode[code]; ok {
		return e.Status
	}
	return http.StatusBadRequest
}

// Message is code's message in lang ("en", else Japanese).
func Message(code, lang string) string {
	e, ok := byCode[code]
	if !ok {
		e = byCode["invalid_request"]
	}
	if lang == "en" {
		return e.En
	}
	return e.Ja
}

// JS is site/errors.js: the messages of every code for the site, which shows them when an
// answer carries no message of its own (a gateway's 502, a network failure).
func JS() []byte {
	var b bytes.Buffer
	b.WriteString("// Generated from shared/errcode by go generate; do not edit.\n\"use strict\";\n// eslint-disable-next-line no-unused-vars\nconst KAGIYA_ERRORS = {\n")
	for _, e := range table {
		ja, _ := json.Marshal(e.Ja)
		en, _ := json.Marshal(e.En)
		fmt.Fprintf(&b, "  %q: { status: %d, ja: %s, en: %s },\n", e.Code, e.Status, ja, en)
	}
	b.WriteString("};\n")
	return b.Bytes()
}
