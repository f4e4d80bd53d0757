// Generated from shared/errcode by go generate; do not edit.
"use strict";
// eslint-disable-next-line no-unused-vars
const KAGIYA_ERRORS = {
  "invalid_request": { status: 400, ja: "リクエストの内容が正しくありません。", en: "The request is not valid." },
  "malformed_json": { status: 400, ja: "リクエストの JSON を読み取れません。", en: "The request body is not valid JSON." },
  "unknown_field": { status: 400, ja: "リクエストに不明な項目が含まれています。", en: "The request has a field this endpoint does not know." },
  "unsupported_media_type": { status: 415, ja: "Content-Type は application/json にしてください。", en: "Send the body as application/json." },
  "body_too_large": { status: 413, ja: "リクエストが大きすぎます。", en: "The request body is too large." },
  "validation": { status: 422, ja: "入力内容に誤りがあります。", en: "Some of the values are not valid." },
  "password_policy": { status: 422, ja: "パスワードがルールを満たしていません。", en: "The password does not meet the rules." },
  "invalid_credentials": { status: 401, ja: "ログインIDまたはパスワードが正しくありません。", en: "The login ID or password is incorrect." },
  "unauthenticated": { status: 401, ja: "ログインしてください。", en: "Please sign in." },
  "invalid_token": { status: 400, ja: "このリンクは無効か、有効期限が切れているか、すでに使われています。もう一度お手続きください。", en: "This link is not valid, has expired or has been used already. Please start again." },
  "invalid_confirm_password": { status: 403, ja: "確認のためのパスワードが正しくありません。", en: "Your confirmation password is incorrect." },
  "invalid_current_password": { status: 403, ja: "現在のパスワードが正しくありません。", en: "Your current password is incorrect." },
  "csrf": { status: 403, ja: "画面を再読み込みしてから、もう一度お試しください。", en: "Reload the page and try again." },
  "forbidden": { status: 403, ja: "この操作を行う権限がありません。", en: "You are not allowed to do this." },
  "use_self_service": { status: 403, ja: "ご自身のパスワードは「パスワード変更」画面から変更してください。", en: "Change your own password on the password change page." },
  "not_found": { status: 404, ja: "見つかりません。", en: "Not found." },
  "method_not_allowed": { status: 405, ja: "この操作はできません。", en: "This method is not allowed here." },
  "conflict": { status: 409, ja: "ほかの操作で変更されました。画面を再読み込みしてください。", en: "Someone else changed it meanwhile. Reload and try again." },
  "login_id_taken": { status: 409, ja: "このログインIDはすでに使われています。", en: "This login ID is already in use." },
  "file_too_large": { status: 413, ja: "ファイルが大きすぎます（64 MiB まで）。", en: "The file is too large (64 MiB at most)." },
  "rate_limited": { status: 429, ja: "試行回数が多すぎます。しばらくしてからお試しください。", en: "Too many attempts. Please wait and try again." },
  "internal": { status: 500, ja: "サーバーでエラーが発生しました。しばらくしてからお試しください。", en: "Something went wrong on our side. Please try again later." },
  "unavailable": { status: 503, ja: "この機能は現在ご利用いただけません。", en: "This feature is not available here." },
};
