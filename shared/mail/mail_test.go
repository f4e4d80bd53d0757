package mail

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

var to = Recipient{LoginID: "a@example.com", SiteURL: "https://id.example.com"}

// samples returns one email of every kind, with s in each text field and url in each
// link, and between them every branch but those of the MFA notice's other events.
func samples(s, url string) []Email {
	return []Email{
		&PasswordChanged{When: s, ByAdmin: true},
		&LockNotice{UnlockURL: url, ValidUntil: s, LiftsAt: s, Failures: 10},
		&PasswordReset{ResetURL: url, ValidUntil: s, Minutes: 60},
		&BulkSummary{Job: BulkJob{Filename: s, Mode: "create", State: "succeeded", Rows: 3, Created: 2, Skipped: 1}, When: s, JobURL: url},
		&NewDevice{When: s, IP: s, Browser: s},
		&Invitation{Tenant: s, Inviter: s, InviteURL: url, ValidUntil: s},
		&EmailChange{Confirm: true, ConfirmURL: url, OldLoginID: s, NewLoginID: s, ValidUntil: s},
		&MFANotice{Event: "recovery_used", When: s, Left: 3, Released: true},
		&PrivilegedAccount{Event: "promoted", Target: s, Role: "owner", Actor: s, When: s, IP: s},
		&AppPassword{Name: s, When: s, IP: s},
		&ConfirmationNotice{Event: "locked", When: s, Failures: 5},
		&LoginMethodChanged{IdP: s, When: s},
		&Passkey{Event: "added", Name: s, When: s, IP: s},
	}
}

func TestSamplesCoverEveryKind(t *testing.T) {
	var got, want []string
	for _, e := range samples("", "") {
		got = append(got, e.kind())
	}
	for _, e := range kinds() {
		want = append(want, e.kind())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("samples %v, kinds %v", got, want)
	}
}

func TestRenderBothLanguagesEscapesHTML(t *testing.T) {
	tmpl, err := LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	r := Recipient{LoginID: "<b>x</b>@example.com", SiteURL: "https://id.example.com"}
	ja, err := tmpl.Render("ja", r, &PasswordChanged{When: "now"})
	if err != nil {
		t.Fatal(err)
	}
	en, err := tmpl.Render("en", r, &PasswordChanged{When: "now"})
	if err != nil {
		t.Fatal(err)
	}
	if ja.Subject != "【Kagiya】パスワードが変更されました" || en.Subject != "[Kagiya] Your password was changed" {
		t.Fatalf("subjects %q / %q", ja.Subject, en.Subject)
	}
	if strings.Contains(ja.HTML, "<b>x</b>") || !strings.Contains(ja.HTML, "&lt;b&gt;") {
		t.Fatal("HTML body does not escape data")
	}
	if !strings.Contains(en.Text, "<b>x</b>@example.com") {
		t.Fatal("text body changed the data")
	}
	if strings.Contains(en.Text, "administrator.") && strings.Contains(en.Text, "made by") {
		t.Fatal("ByAdmin=false still says an administrator made the change")
	}
	if strings.HasPrefix(ja.Text, "【Kagiya】") || !strings.HasPrefix(ja.Text, "<b>x</b>@example.com 様") {
		t.Fatalf("text body begins %q", ja.Text[:min(40, len(ja.Text))])
	}
	if !slices.Equal(ja.To, []string{r.LoginID}) {
		t.Fatalf("to %v", ja.To)
	}
}

func TestEveryKindRendersInBothLanguages(t *testing.T) {
	tmpl, err := LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range samples("2026-11-23 09:00", "https://id.example.com/page.html?token=t") {
		for _, lang := range []string{"ja", "en"} {
			m, err := tmpl.Render(lang, to, e)
			if err != nil {
				t.Fatalf("%s.%s: %v", e.kind(), lang, err)
			}
			if m.Subject == "" || m.Text == "" || !strings.Contains(m.HTML, `lang="`+lang+`"`) ||
				strings.Contains(m.Text+m.HTML, "<no value>") || !strings.Contains(m.Text+m.HTML, "2026-11-23 09:00") {
				t.Errorf("%s.%s: %+v", e.kind(), lang, m)
			}
			if m.Meta.Kind != e.kind() { // the outbox audits deliveries by kind
				t.Errorf("%s.%s: meta kind %q", e.kind(), lang, m.Meta.Kind)
			}
		}
	}
	// Every event of the MFA notice has its own subject.
	subjects := map[string]bool{}
	for _, ev := range []string{"enabled", "disabled", "regenerated", "recovery_used", "locked", "released", "reset"} {
		m, err := tmpl.Render("en", to, &MFANotice{Event: ev, When: "w", Failures: 5})
		if err != nil {
			t.Fatal(err)
		}
		subjects[m.Subject] = true
	}
	if len(subjects) != 7 {
		t.Fatalf("subjects %v", subjects)
	}
}

// A template names its email's fields: a field the struct lacks fails the load, whether
// or not its branch would run (the struct literal that sets a field it lacks does not
// compile).
func TestTemplatesRefuseAFieldTheirEmailLacks(t *testing.T) {
	for file, change := range map[string][2]string{
		"password_changed.en.html": {`{{if .ByAdmin}}`, `{{if .ByAdmin}}{{.Admin}}`},
		"password_changed.ja.txt":  {`【Kagiya】`, `【Kagiya】{{if .ByAdmin}}{{.Admin}}{{end}}`}, // the subject line
		"password_changed.en.txt":  {`{{if .ByAdmin}}`, `{{if .ByAdmin}}{{.Admin}}`},
		"bulk_summary.en.html":     {`{{.Job.Rows}}`, `{{.Job.Refused}}`},
		"lock_notice.ja.html":      {`{{if .LiftsAt}}`, `{{if eq .Lifts "x"}}`},
		"mfa_notice.en.txt":        {`{{.When}}`, `{{.When.Day}}`},
	} {
		fsys := templateFiles(t)
		src := string(fsys[file].Data)
		if !strings.Contains(src, change[0]) {
			t.Fatalf("%s has no %s", file, change[0])
		}
		fsys[file].Data = []byte(strings.Replace(src, change[0], change[1], 1))
		_, err := loadTemplates(fsys, kinds())
		if err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(file, ".txt")) {
			t.Errorf("%s with %s: %v", file, change[1], err)
		}
	}
	for _, bad := range []string{`{{range .When}}{{end}}`, `{{with .When}}{{.}}{{end}}`, `{{$x := .When}}`, `{{.}}`, `{{template "x"}}`} {
		fsys := templateFiles(t)
		fsys["new_device.en.txt"].Data = append(fsys["new_device.en.txt"].Data, bad...)
		if _, err := loadTemplates(fsys, kinds()); err == nil {
			t.Errorf("%s loaded", bad)
		}
	}
	fsys := templateFiles(t)
	fsys["removed.en.txt"] = fsys["new_device.en.txt"]
	if _, err := loadTemplates(fsys, kinds()); err == nil || !strings.Contains(err.Error(), "removed.en.txt") {
		t.Errorf("a template of no kind: %v", err)
	}
	if _, err := loadTemplates(templateFiles(t), kinds()); err != nil {
		t.Fatal(err)
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
