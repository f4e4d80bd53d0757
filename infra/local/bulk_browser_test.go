package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	jpenc "golang.org/x/text/encoding/japanese"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBrowserBulkUpdateByCSV(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	for i := range 5 {
		createUser(t, base, fmt.Sprintf("shain%d@example.com", i), "Fuji-Passw0rd!")
	}
	var b strings.Builder
	b.WriteString("mail_account,password,mail_capacity\r\n")
	for i := range 5 {
		fmt.Fprintf(&b, "shain%d,Atarashii-Kagi-%d!,50\r\n", i, i)
	}
	b.WriteString("yurei,,10\r\n") // no such account: skipped
	sjis, err := jpenc.ShiftJIS.NewEncoder().Bytes([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "社員パスワード 2026.csv", sjis) // saved by Excel in Japan
	ctx := browser(t)
	err = chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		click("#bulk-link"),
		waitText("#page-title", "CSV で一括変更"),
		chromedp.SetUploadFiles(css("#file"), []string{path}),
		chromedp.SendKeys(css("#confirm_password"), "Kagi-2026-Tokyo!"),
		click("#submit"),
		waitText("#job-outcome", "5件のアカウントを更新しました"),
		waitText("#job-state", "完了"),
		waitText("#job-file", "社員パスワード 2026.csv"),
		waitText("#job-skipped", "yurei@example.com"),
		waitText("#jobs tbody", "社員パスワード 2026.csv"),
		waitText("#jobs tbody", "完了"),
	)
	if err != nil {
		t.Fatal(err)
	}
	var full bool
	if err := chromedp.Do(ctx, read(chromedp.Evaluate[bool](`(() => { const p = document.getElementById("job-progress"); return p.value === p.max })()`), &full)); err != nil || !full {
		t.Fatalf("progress bar not full: %v", err)
	}
	res := apiAs(t, base, "shain3@example.com", "Atarashii-Kagi-3!")("GET", "/api/me", nil)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the new password does not sign in: %d", res.StatusCode)
	}
	// The audit log shows the job as one event, in words, linked to its page; its rows
	// appear when asked for.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/audit.html"),
		waitText("#events", "CSV 一括処理"),
		waitText("#events", "6行・変更 5"),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			rows, err := chromedp.Evaluate[int](`[...document.querySelectorAll("#events td")].filter((td) => td.textContent.includes("一括変更（行）")).length`)(ctx, tg)
			return err == nil && rows == 0, fmt.Sprintf("%d row events in the default view", rows), err
		}),
		click("#f-bulk"),
		waitText("#events", "CSV 一括変更（行）"),
		click(`#events a[href^="/bulk.html?job="]`),
		waitText("#job-file", "社員パスワード 2026.csv"),
	)
	if err != nil {
		t.Fatal(err)
	}
}

func TestBrowserBulkRejectedFileShowsErrors(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	createUser(t, base, "shain0@example.com", "Fuji-Passw0rd!")
	path := writeFile(t, "bad.csv", []byte("mail_account,password,mail_capacity\nshain0,short,50\nshain0,Atarashii-Kagi-0!,7\n"))
	ctx := browser(t)
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/bulk.html"),
		// The column help, with the tenant's password rules in words.
		click("#columns-help summary"),
		waitText("#columns-help", "0, 1, 2, 5, 10, 20, 50, 100"),
		waitText("#bulk-rules", "12"),
		chromedp.SetUploadFiles(css("#file"), []string{path}),
		chromedp.SendKeys(css("#confirm_password"), "Wrong-Passw0rd!"),
		click("#submit"),
		waitText("#message", "確認のためのパスワードが正しくありません"),
		chromedp.SendKeys(css("#confirm_password"), "Kagi-2026-Tokyo!"),
		click("#submit"),
		waitText("#job-state", "ファイルに誤りがあります"),
		waitText("#job-outcome", "何も変更していません"),
		waitText("#job-errors tbody", "短すぎます"),
		waitText("#job-errors tbody", "同じアカウントが2回あります"),
		waitText("#job-errors tbody tr:first-child td:first-child", "2"),
		waitText("#job-errors tbody", "最初は2行目"),
		// The report downloads as CSV, line by line.
		script(`window.__csv = ""; const make = URL.createObjectURL; URL.createObjectURL = (b) => { b.arrayBuffer().then((x) => { const u = new Uint8Array(x); window.__csv = (u[0] === 0xef && u[1] === 0xbb && u[2] === 0xbf ? "BOM" : "") + new TextDecoder().decode(x); }); return make(b); }`),
		click("#job-errors-download"),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			csv, err := chromedp.Evaluate[string](`window.__csv`)(ctx, tg)
			return err == nil && strings.Contains(csv, "短すぎます") && strings.HasPrefix(csv, "BOM\"行\""), fmt.Sprintf("report %q", csv), err
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing changed: the old password still signs in.
	res := apiAs(t, base, "shain0@example.com", "Fuji-Passw0rd!")("GET", "/api/me", nil)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the rejected file changed the account: %d", res.StatusCode)
	}
}

// A hosting operator moves mail accounts with the hashes from Dovecot: the file is
// checked (a weak scheme needs the checkbox), the accounts are created, and a person
// signs in with the password it already had; the list shows who has not signed in yet.
func TestBrowserBulkImportsPasswordHashes(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	file := "mail_account,password_hash,mail_capacity\r\n" +
		"iko,{SHA512-CRYPT}$6$Ys.dRCgGW8Q32rU0$mq.UQob7G0X8IOWLLETZujSwmifHZSE/Dijbj/ePsBUJrpIJ4waKzAGOogYNePZUUssxMHkgOA2Kid4uXDw5A1,10\r\n" +
		"mae,{SSHA256}EPq+3rDu61giZ8L7B7xsEo5QA2M3BZKJ/DN992a6Tdg+Lxk/,5\r\n" +
		"furui,{SHA}AFb7WWNltIeCgvqZhYLtB3ZqUpk=,1\r\n"
	path := writeFile(t, "dovecot.csv", []byte(file))
	ctx := browser(t)
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/bulk.html"),
		click(`input[name=mode][value=create]`),
		chromedp.SetUploadFiles(css("#file"), []string{path}),
		chromedp.SendKeys(css("#confirm_password"), "Kagi-2026-Tokyo!"),
		click("#submit"),
		waitText("#job-errors", "弱い方式のハッシュです"),
		click("#hash-help summary"),
		waitText("#hash-help", "{SHA512-CRYPT}"),
		click("#allow_weak_hashes"),
		chromedp.SetUploadFiles(css("#file"), []string{path}),
		chromedp.SendKeys(css("#confirm_password"), "Kagi-2026-Tokyo!"),
		click("#submit"),
		waitText("#job-outcome", "3件のアカウントを作成しました"),
		waitText("#job-imported", "3件のアカウントにパスワードハッシュを取り込みました"),
	)
	if err != nil {
		t.Fatal(err)
	}
	res := apiAs(t, base, "iko@example.com", "Mori-no-Kuma-42!")("GET", "/api/me", nil) // the password from Dovecot
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the imported password does not sign in: %d", res.StatusCode)
	}
	err = chromedp.Do(ctx,
		click("#job-imported a"),
		waitText("#accounts", "mae@example.com"),
		waitText("#accounts", "furui@example.com"),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			got, err := chromedp.TextContent(css("#accounts"))(ctx, tg)
			return err == nil && !strings.Contains(got, "iko@example.com"), "iko, who signed in, still listed", nil
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
}
