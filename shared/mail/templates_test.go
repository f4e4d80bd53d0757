package mail

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

// templateFiles copies the embedded templates, for a test to change.
func templateFiles(t *testing.T) fstest.MapFS {
	t.Helper()
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		out[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// probe is an email made for the escaping test: a link printed inside an {{if}}, a link
// after another attribute, and text.
type probe struct {
	Recipient
	A    bool
	U, T string
}

func (*probe) kind() string { return "probe" }

func TestHTMLEscapesByContext(t *testing.T) {
	fsys := fstest.MapFS{}
	for _, lang := range []string{"ja", "en"} {
		fsys["probe."+lang+".txt"] = &fstest.MapFile{Data: []byte("{{.T}}\n{{.T}} {{.U}}\n")}
		fsys["probe."+lang+".html"] = &fstest.MapFile{Data: []byte(`<p><a href="{{if .A}}{{.U}}{{end}}">1</a>` +
			`<a title="{{.T}}" href="{{.U}}">2</a><img alt="{{.T}}" src="{{.U}}">{{.T}}</p>`)}
	}
	tmpl, err := loadTemplates(fsys, []Email{&probe{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ u, href string }{
		{"https://id.example.com/reset.html?token=a_b-c", `"https://id.example.com/reset.html?token=a_b-c"`},
		{"https://x.example/?a=1&b=2", `"https://x.example/?a=1&amp;b=2"`},
		{"/relative/path", `"/relative/path"`},
		{"javascript:alert(1)", `"#ZgotmplZ"`},
		{"JavaScript:alert(1)", `"#ZgotmplZ"`},
		{" javascript:alert(1)", `"#ZgotmplZ"`},
		{"data:text/html,<script>alert(1)</script>", `"#ZgotmplZ"`},
		{"vbscript:msgbox(1)", `"#ZgotmplZ"`},
		{`https://x.example/"><script>alert(1)</script>`, `"https://x.example/%22%3e%3cscript%3ealert%281%29%3c/script%3e"`},
	} {
		m, err := tmpl.Render("en", to, &probe{A: true, U: c.u, T: `"><script>alert('x')</script>&`})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			`<a href=` + c.href + `>1</a>`, // a link printed inside {{if}}
			`<a title="&#34;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;" href=` + c.href + `>2</a>`, // after another attribute
			`<img alt="&#34;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;" src=` + c.href + `>`,
			`&#34;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;</p>`, // text
		} {
			if !strings.Contains(m.HTML, want) {
				t.Errorf("%q: no %s in\n%s", c.u, want, m.HTML)
			}
		}
		if strings.Contains(m.HTML, "<script") || strings.Contains(strings.ToLower(m.HTML), "javascript:") {
			t.Errorf("%q: %s", c.u, m.HTML)
		}
	}
}

var hrefRE = regexp.MustCompile(`href="([^"]*)"`)

// Every shipped email, with values that try to break out of its HTML and links that are
// not http(s): nothing gets through, and the text part carries the values as they are.
func TestEveryEmailEscapesHostileValues(t *testing.T) {
	tmpl, err := LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	const hostile = `"><img src=x onerror=alert(1)><script>alert('x')</script>`
	r := Recipient{LoginID: `"><script>@example.com`, SiteURL: "javascript:alert(1)//"}
	for _, link := range []string{"javascript:alert(1)", "data:text/html,<b>x</b>"} {
		for _, e := range samples(hostile, link) {
			for _, lang := range []string{"ja", "en"} {
				m, err := tmpl.Render(lang, r, e)
				if err != nil {
					t.Fatal(err)
				}
				hrefs := hrefRE.FindAllStringSubmatch(m.HTML, -1)
				for _, h := range hrefs {
					if !strings.HasPrefix(h[1], "#ZgotmplZ") {
						t.Errorf("%s.%s: href=%q", e.kind(), lang, h[1])
					}
				}
				if len(hrefs) == 0 || strings.Contains(m.HTML, "<script") || strings.Contains(m.HTML, "<img") {
					t.Errorf("%s.%s: %s", e.kind(), lang, m.HTML)
				}
				if !strings.Contains(m.Text, hostile) && e.kind() != "mfa_notice" && e.kind() != "password_reset" {
					t.Errorf("%s.%s: text lost the value: %s", e.kind(), lang, m.Text)
				}
			}
		}
	}
}

// A line break (or another control character) in a value printed in the subject does
// not end the subject or move text into the body.
func TestSubjectStaysOneLine(t *testing.T) {
	tmpl, err := LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{
		"Acme\r\nBcc: evil@example.com\r\n\r\n<h1>Hi</h1>": "[Kagiya] You are invited to Acme Bcc: evil@example.com <h1>Hi</h1>",
		"Acme\nSubject: x":                           "[Kagiya] You are invited to Acme Subject: x",
		"Acme\u2028\u0085\x00\x1b[31m\u202eKK\u2066": "[Kagiya] You are invited to Acme [31m KK",
		"  Example\tKK  ":                            "[Kagiya] You are invited to Example KK",
	} {
		m, err := tmpl.Render("en", to, &Invitation{Tenant: tenant, Inviter: "o@example.com", InviteURL: "https://id.example.com/i", ValidUntil: "v"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != want {
			t.Errorf("%q: subject %q, want %q", tenant, m.Subject, want)
		}
		if !strings.HasPrefix(m.Text, "Hello a@example.com,\n") {
			t.Errorf("%q: body begins %q", tenant, m.Text[:min(60, len(m.Text))])
		}
	}
}

// BenchmarkLoadTemplates is the templates' part of a function's start: parse, check and
// escape every email in both languages.
func BenchmarkLoadTemplates(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadTemplates(); err != nil {
			b.Fatal(err)
		}
	}
}
