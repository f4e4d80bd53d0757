package mail

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRenderBothLanguagesEscapesHTML(t *testing.T) {
	tmpl, err := LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"LoginID": "<b>x</b>@example.com", "When": "now", "SiteURL": "https://id.example.com", "ByAdmin": false}
	ja, err := tmpl.Render("password_changed", "ja", "a@example.com", data)
	if err != nil {
		t.Fatal(err)
	}
	en, err := tmpl.Render("password_changed", "en", "a@example.com", data)
	if err != nil {
		t.Fatal(err)
	}
	if ja.Subject != "【Kagiya】パスワードが変更されました" || en.Subject != "[Kagiya] Your password was changed" {
		t.Fatalf("subjects %q / %q", ja.Subject, en.Subject)
	}
	if strings.Contains(ja.HTML, "<b>x</b>") || !strings.Contains(ja.HTML, "&lt;b&gt;") {
		t.Fatal("HTML body does not escape data")
	}
	if strings.Contains(en.Text, "administrator.") && strings.Contains(en.Text, "made by") {
		t.Fatal("ByAdmin=false still says an administrator made the change")
	}
	if strings.HasPrefix(ja.Text, "【Kagiya】") {
		t.Fatal("subject line left in the body")
	}
}

func TestMailboxFiltersByRecipient(t *testing.T) {
	b := NewMailbox(time.Now)
	ctx := context.Background()
	b.Send(ctx, Message{To: []string{"A@example.com"}, Subject: "1"})
	b.Send(ctx, Message{To: []string{"b@example.com"}, Subject: "2"})
	b.Send(ctx, Message{To: []string{"a@example.com"}, Subject: "3"})
	got := b.Messages("a@EXAMPLE.com")
	if len(got) != 2 || got[0].Subject != "1" || got[1].Subject != "3" || got[0].SentAt.IsZero() {
		t.Fatalf("got %+v", got)
	}
	if len(b.Messages("")) != 3 {
		t.Fatal("unfiltered list incomplete")
	}
}

func TestEveryKindRendersInBothLanguages(t *testing.T) {
	tmpl, err := LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"password_changed", "lock_notice", "password_reset", "bulk_summary", "new_device", "privileged_account", "app_password"} {
		for _, lang := range []string{"ja", "en"} {
			m, err := tmpl.Render(kind, lang, "a@example.com", map[string]any{"LoginID": "a@example.com",
				"SiteURL": "https://id.example.com", "UnlockURL": "https://id.example.com/unlock.html?token=t",
				"ResetURL": "https://id.example.com/reset.html?token=t", "When": "w", "ValidUntil": "v", "Minutes": 60, "Failures": 10,
				"JobURL": "https://id.example.com/bulk.html?job=j", "Job": map[string]any{"State": "succeeded", "Mode": "update", "Filename": "f.csv",
					"Rows": 3, "Updated": 2, "Created": 0, "Skipped": 1, "Errors": 0}, "IP": "192.0.2.1", "Browser": "Firefox",
				"Event": "created", "Target": "boss@example.com", "Role": "owner", "Actor": "owner@example.com", "Name": "iPhone"})
			if err != nil {
				t.Fatalf("%s.%s: %v", kind, lang, err)
			}
			if m.Subject == "" || m.Text == "" || !strings.Contains(m.HTML, `lang="`+lang+`"`) || strings.Contains(m.Text+m.HTML, "<no value>") {
				t.Errorf("%s.%s: %+v", kind, lang, m)
			}
		}
	}
}
