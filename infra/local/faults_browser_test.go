package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/faults"
)

// A batch suspension whose write fails for one account: the page says which accounts
// were suspended and which were not changed (to try again), in Japanese and English.
func TestBrowserBatchActionShowsWhatFailed(t *testing.T) {
	t.Parallel()
	plan := &faults.Plan{}
	base := startServerWith(t, func(st account.Store) account.Store { return faults.NewStore(st, plan) })
	for _, id := range []string{"haru@example.com", "natsu@example.com", "aki@example.com"} {
		createUser(t, base, id, "Fuji-Passw0rd-26!")
	}
	ctx := browser(t)
	// The accounts in the list's order (by login ID): aki, haru, natsu; haru's write fails.
	failSecond := chromedp.Func(func(context.Context, *chromedp.Target) error {
		plan.Add(faults.Rule{Method: "UpdateAccount", Skip: 1, Times: 1, Err: faults.Throttling("DynamoDB", "UpdateItem")})
		return nil
	})
	err := chromedp.Do(ctx,
		japanese(base),
		signIn(base, "owner@example.com", "Kagi-2026-Tokyo!"),
		waitText("#me-login-id", "owner@example.com"),
		chromedp.Navigate(base+"/admin.html"),
		waitText("#count", "4件"),
		fill("#q", "example.com"),
		click(`#accounts tr[data-login-id="aki@example.com"] input.pick`),
		click(`#accounts tr[data-login-id="haru@example.com"] input.pick`),
		click(`#accounts tr[data-login-id="natsu@example.com"] input.pick`),
		waitText("#selection", "3件を選択中"),
		click("#suspend-selected"),
		fill("#unlock-confirm", "Kagi-2026-Tokyo!"),
		failSecond,
		click("#unlock-ok"),
		waitText("#list-message", "2件を停止しました: aki@example.com, natsu@example.com"),
		waitText("#list-message", "エラーのため変更できなかったアカウント（時間をおいてもう一度お試しください）: haru@example.com"),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			cls, err := chromedp.Evaluate[string](`document.getElementById("list-message").className`)(ctx, tg)
			return err == nil && cls == "message error", fmt.Sprintf("the message's class: %q", cls), nil
		}),
		// Tried again (the fault has passed), in English: the one left is suspended.
		click("#lang-switch"),
		openRowAction("haru@example.com", "suspend"),
		fill("#unlock-confirm", "Kagi-2026-Tokyo!"),
		click("#unlock-ok"),
		waitText("#list-message", "1 suspended: haru@example.com"),
		poll(func(ctx context.Context, tg *chromedp.Target) (bool, string, error) {
			cls, err := chromedp.Evaluate[string](`document.getElementById("list-message").className`)(ctx, tg)
			return err == nil && cls == "message ok", fmt.Sprintf("the message's class: %q", cls), nil
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
}
