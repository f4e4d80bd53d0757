package mail

import (
	"bytes"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"strings"
	"testing"
	texttemplate "text/template"
)

// summary has the shape of the bulk job summary the bulk_summary email gets (a struct,
// so that nested fields are read from structs as well as maps).
type summary struct {
	JobID, Filename, Mode, State            string
	Rows, Updated, Created, Skipped, Errors int
}

// variants are data sets that, between them, take every branch of every template: with
// ordinary values, and with values that try to break out of the HTML.
func variants() []map[string]any {
	events := []string{"enabled", "disabled", "regenerated", "recovery_used", "locked", "released", "reset", "promoted"}
	states := []string{"succeeded", "rejected", "failed"}
	var out []map[string]any
	for i := range 2 * len(events) * len(states) {
		v := map[string]any{"LoginID": "kazu@example.com", "OldLoginID": "old@example.com", "NewLoginID": "new@example.jp",
			"SiteURL": "https://id.example.com", "When": "2026-11-23 09:00", "ValidUntil": "2026-11-24 09:00", "LiftsAt": "",
			"Tenant": "Example KK", "Inviter": "owner@example.com", "IP": "192.0.2.1", "Browser": "Firefox",
			"Failures": 10, "Minutes": 60, "Left": 9, "Event": events[i%len(events)],
			"Confirm": i%2 == 0, "Released": i%3 == 0, "ByAdmin": i%4 < 2,
			"UnlockURL": "https://id.example.com/unlock.html?token=AbC-_1", "ResetURL": "https://id.example.com/reset.html?token=AbC-_1",
			"InviteURL": "https://id.example.com/invite.html?token=x&y=1+2", "ConfirmURL": "https://id.example.com/confirm-email.html?token=t",
			"JobURL": "https://id.example.com/bulk.html?job=j1",
			"Target": "boss@example.com", "Actor": "owner@example.com", "Role": []string{"owner", "admin"}[i%2], "Name": "iPhone メール",
			"Job": summary{JobID: "j1", Filename: "社員.csv", Mode: []string{"create", "update"}[i%2], State: states[i/len(events)%len(states)],
				Rows: 3, Updated: 2, Created: 1, Skipped: 1, Errors: 4}}
		if i%5 == 0 {
			v["LiftsAt"] = "2026-11-23 09:30"
		}
		if i >= len(events)*len(states) { // hostile values
			for _, k := range []string{"LoginID", "OldLoginID", "NewLoginID", "When", "Tenant", "Inviter", "Browser", "IP", "Target", "Actor", "Name"} {
				v[k] = `<script>alert("x'+&")</script>` + k
			}
			v["SiteURL"], v["ResetURL"], v["JobURL"] = "javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<b>"
			v["Job"] = summary{Filename: `"><img src=x onerror=alert(1)>.csv`, Mode: "create", State: states[i%len(states)]}
		}
		out = append(out, v)
	}
	return out
}

func TestTemplatesRenderAsTheStandardPackagesDo(t *testing.T) {
	names, err := fs.Glob(templateFS, "templates/*.*")
	if err != nil || len(names) < 2 {
		t.Fatalf("templates: %v %v", names, err)
	}
	for _, name := range names {
		raw, _ := templateFS.ReadFile(name)
		src, base, isHTML := string(raw), path.Base(name), path.Ext(name) == ".html"
		mine, err := parseTemplate(base, src, isHTML)
		if err != nil {
			t.Fatal(err)
		}
		std := func(data any) string {
			var b bytes.Buffer
			var err error
			if isHTML {
				err = htmltemplate.Must(htmltemplate.New(base).Parse(src)).Execute(&b, data)
			} else {
				err = texttemplate.Must(texttemplate.New(base).Parse(src)).Execute(&b, data)
			}
			if err != nil {
				t.Fatalf("%s: %v", base, err)
			}
			return b.String()
		}
		for i, data := range variants() {
			var got strings.Builder
			mine.execute(&got, data)
			if want := std(data); got.String() != want {
				t.Fatalf("%s, data set %d:\n got %q\nwant %q", base, i, got.String(), want)
			}
		}
	}
}

func TestTemplatesKeepLinksAndTagsSafe(t *testing.T) {
	tp, err := parseTemplate("t.html", `<a href="{{.U}}">{{.U}}</a><p title="{{.T}}">{{if .B}}{{.T}}{{end}}</p>`, true)
	if err != nil {
		t.Fatal(err)
	}
	for u, want := range map[string]string{
		"https://id.example.com/reset.html?token=a_b-c": `href="https://id.example.com/reset.html?token=a_b-c"`,
		"https://x.example/?a=1&b=2":                    `href="https://x.example/?a=1&amp;b=2"`,
		"javascript:alert(1)":                           `href="#ZgotmplZ"`,
		` javascript:alert(1)`:                          `href="#ZgotmplZ"`, // a space is not carried as is
		`https://x.example/"><script>`:                  `href="#ZgotmplZ"`,
		"/relative/path":                                `href="/relative/path"`,
	} {
		var b strings.Builder
		tp.execute(&b, map[string]any{"U": u, "T": `"<i>'`, "B": true})
		if !strings.Contains(b.String(), want) || strings.Contains(b.String(), "<script>") || strings.Contains(b.String(), "<i>") {
			t.Errorf("%q: %s", u, b.String())
		}
	}
	for _, src := range []string{
		`<a onclick="{{.X}}">`, `<a {{.X}}>`, `<a href={{.X}}>`, `<p style="{{.X}}">`, `<a data-href="{{.X}}">`, `<a href="x{{.X}}">`, `{{range .X}}{{end}}`, `{{template "x"}}`, `{{.X | html}}`,
		`{{if .X}}open`, `{{end}}`, `{{if .X}}a{{else}}b{{else}}c{{end}}`, `{{if eq .X 1}}{{end}}`, `{{.X.}}`, `{{.X`,
	} {
		if _, err := parseTemplate("bad.html", src, true); err == nil {
			t.Errorf("%q parsed", src)
		}
	}
}

// A missing value prints nothing and is false; a nil pointer on the way too.
func TestTemplatesMissingValues(t *testing.T) {
	tp, err := parseTemplate("t.txt", `[{{.A}}][{{.P.Q}}][{{if .A}}a{{else if .Z}}z{{else}}none{{end}}]`, false)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var p *summary
	missing := tp.execute(&b, map[string]any{"P": p, "Z": 0})
	if b.String() != "[][][none]" || strings.Join(missing, " ") != ".A .P.Q" {
		t.Fatalf("got %q, missing %q", b.String(), missing)
	}
}

// Strict templates refuse to render a message whose data lacks a printed field.
func TestStrictTemplatesNameWhatIsMissing(t *testing.T) {
	lenient, err := LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"LoginID": "a@example.com", "SiteURL": "https://id.example.com", "ByAdmin": false} // no When
	if m, err := lenient.Render("password_changed", "en", "a@example.com", data); err != nil || m.Subject == "" {
		t.Fatalf("lenient: %v", err)
	}
	_, err = lenient.Strict().Render("password_changed", "en", "a@example.com", data)
	if err == nil || !strings.Contains(err.Error(), ".When") {
		t.Fatalf("strict: %v", err)
	}
	data["When"] = "now"
	if _, err := lenient.Strict().Render("password_changed", "ja", "a@example.com", data); err != nil {
		t.Fatal(err)
	}
}
