package mail

import (
	"fmt"
	"reflect"
	"strings"
)

// The emails' templates are written in the part of Go's template language they need:
// a field ({{.A}} or {{.A.B}}), and {{if}} … {{else if}} … {{else}} … {{end}} whose
// conditions are a field's truth or {{if eq .A "text"}}. They are parsed and run here,
// not by text/template and html/template: those look methods up by name, which makes
// the linker keep every method of every type in the program (in a Lambda function, every
// operation of every AWS client: 6 MB a binary, and a slower cold start). A test renders
// every template here and with the standard packages and requires the same output.

// tmpl is one parsed template.
type tmpl struct {
	nodes []node
	html  bool // escape what is printed for HTML
}

// node is literal text, a field to print, or an if chain (cases).
type node struct {
	text  string
	path  []string
	url   bool // the field begins a URL attribute's value (HTML)
	cases []branch
}

// branch is one case of an if chain; the last may have no condition ({{else}}).
type branch struct {
	cond *cond
	body []node
}

// cond is a field's truth, or (eq set) whether it equals eq.
type cond struct {
	path  []string
	eq    string
	hasEq bool
}

// parseTemplate parses src; html escapes printed values and accepts fields only where
// that escaping is right (text, a quoted attribute, the start of an href).
func parseTemplate(name, src string, html bool) (*tmpl, error) {
	p := &parser{name: name, src: src, html: html}
	nodes, end, err := p.list()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, fmt.Errorf("%s: {{%s}} without {{if}}", name, end)
	}
	return &tmpl{nodes: nodes, html: html}, nil
}

type parser struct {
	name, src string
	html      bool
}

// next returns the text up to the next action and the action (trimmed); ok is false when
// the template ends first.
func (p *parser) next() (text, action string, ok bool, err error) {
	i := strings.Index(p.src, "{{")
	if i < 0 {
		text, p.src = p.src, ""
		return text, "", false, nil
	}
	j := strings.Index(p.src[i:], "}}")
	if j < 0 {
		return "", "", false, fmt.Errorf("%s: unclosed action", p.name)
	}
	text, action, p.src = p.src[:i], strings.TrimSpace(p.src[i+2:i+j]), p.src[i+j+2:]
	return text, action, true, nil
}

// list parses nodes up to an {{else}}, {{else if …}} or {{end}} (returned) or the end.
func (p *parser) list() ([]node, string, error) {
	var out []node
	for {
		text, action, ok, err := p.next()
		if err != nil {
			return nil, "", err
		}
		if text != "" {
			out = append(out, node{text: text})
		}
		if !ok {
			return out, "", nil
		}
		switch {
		case action == "end" || action == "else" || strings.HasPrefix(action, "else if "):
			return out, action, nil
		case strings.HasPrefix(action, "if "):
			n, err := p.ifChain(strings.TrimPrefix(action, "if "))
			if err != nil {
				return nil, "", err
			}
			out = append(out, n)
		case strings.HasPrefix(action, "."):
			path, err := p.field(action)
			if err != nil {
				return nil, "", err
			}
			n := node{path: path}
			if p.html {
				if n.url, err = p.htmlContext(text); err != nil {
					return nil, "", err
				}
			}
			out = append(out, n)
		default:
			return nil, "", fmt.Errorf("%s: unsupported action {{%s}}", p.name, action)
		}
	}
}

// htmlContext checks where a field printed after text lands: in text, at the start of a
// quoted title or alt (escaped as text is), or at the start of a quoted href (a URL).
// Anywhere else in a tag (a style, an event handler, an unquoted value) is refused.
func (p *parser) htmlContext(text string) (url bool, err error) {
	if strings.LastIndex(text, "<") <= strings.LastIndex(text, ">") {
		return false, nil // outside any tag (as far as this text shows)
	}
	if rest, ok := strings.CutSuffix(text, `="`); ok {
		switch rest[strings.LastIndexAny(rest, " \t\n")+1:] {
		case "href":
			return true, nil
		case "title", "alt":
			return false, nil
		}
	}
	return false, fmt.Errorf("%s: a field inside a tag must begin a quoted href, title or alt", p.name)
}

func (p *parser) ifChain(src string) (node, error) {
	var n node
	for {
		c, err := p.cond(src)
		if err != nil {
			return node{}, err
		}
		body, end, err := p.list()
		if err != nil {
			return node{}, err
		}
		n.cases = append(n.cases, branch{cond: &c, body: body})
		switch {
		case end == "end":
			return n, nil
		case end == "else":
			body, end, err := p.list()
			if err != nil {
				return node{}, err
			}
			if end != "end" {
				return node{}, fmt.Errorf("%s: {{else}} not followed by {{end}}", p.name)
			}
			n.cases = append(n.cases, branch{body: body})
			return n, nil
		case end == "":
			return node{}, fmt.Errorf("%s: {{if}} without {{end}}", p.name)
		default:
			src = strings.TrimPrefix(end, "else if ")
		}
	}
}

func (p *parser) cond(src string) (cond, error) {
	if rest, ok := strings.CutPrefix(src, "eq "); ok {
		f, lit, ok := strings.Cut(strings.TrimSpace(rest), " ")
		lit = strings.TrimSpace(lit)
		if !ok || len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' || strings.ContainsAny(lit[1:len(lit)-1], `"\`) {
			return cond{}, fmt.Errorf("%s: want {{if eq .Field \"text\"}}, got %q", p.name, src)
		}
		path, err := p.field(f)
		return cond{path: path, eq: lit[1 : len(lit)-1], hasEq: true}, err
	}
	path, err := p.field(src)
	return cond{path: path}, err
}

func (p *parser) field(s string) ([]string, error) {
	path := strings.Split(strings.TrimPrefix(s, "."), ".")
	for _, name := range path {
		if name == "" || strings.ContainsFunc(name, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_')
		}) {
			return nil, fmt.Errorf("%s: bad field %q", p.name, s)
		}
	}
	return path, nil
}

// execute writes the template filled from data (a map or struct; fields may nest) and
// returns the fields it printed that data lacks (printed as nothing).
func (t *tmpl) execute(w *strings.Builder, data any) (missing []string) {
	t.run(w, t.nodes, reflect.ValueOf(data), &missing)
	return missing
}

func (t *tmpl) run(w *strings.Builder, nodes []node, data reflect.Value, missing *[]string) {
	for _, n := range nodes {
		switch {
		case n.path != nil:
			v := lookup(data, n.path)
			if !v.IsValid() {
				*missing = append(*missing, "."+strings.Join(n.path, "."))
			}
			t.print(w, n, v)
		case n.cases != nil:
			for _, b := range n.cases {
				if b.cond == nil || b.cond.holds(data) {
					t.run(w, b.body, data, missing)
					break
				}
			}
		default:
			w.WriteString(n.text)
		}
	}
}

func (t *tmpl) print(w *strings.Builder, n node, v reflect.Value) {
	s := ""
	if v.IsValid() && v.CanInterface() {
		s = fmt.Sprint(v.Interface())
	}
	switch {
	case !t.html:
		w.WriteString(s)
	case n.url:
		w.WriteString(htmlEscaper.Replace(safeURL(s)))
	default:
		w.WriteString(htmlEscaper.Replace(s))
	}
}

func (c *cond) holds(data reflect.Value) bool {
	v := lookup(data, c.path)
	if c.hasEq {
		return v.IsValid() && v.Kind() == reflect.String && v.String() == c.eq
	}
	return truth(v)
}

// lookup follows path through maps (string keys) and structs (exported fields); the
// zero Value when something on the way is missing.
func lookup(v reflect.Value, path []string) reflect.Value {
	for _, name := range path {
		v = indirect(v)
		switch {
		case !v.IsValid():
			return v
		case v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String:
			v = v.MapIndex(reflect.ValueOf(name).Convert(v.Type().Key()))
		case v.Kind() == reflect.Struct:
			f, ok := v.Type().FieldByName(name)
			if !ok || !f.IsExported() {
				return reflect.Value{}
			}
			v = v.FieldByIndex(f.Index)
		default:
			return reflect.Value{}
		}
	}
	return indirect(v)
}

// indirect looks through interfaces and pointers (nil: the zero Value).
func indirect(v reflect.Value) reflect.Value {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer) {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	return v
}

// truth is text/template's: false, zero numbers, empty strings, slices and maps and
// missing values are false; any struct is true.
func truth(v reflect.Value) bool {
	if !v.IsValid() {
		return false
	}
	switch v.Kind() {
	case reflect.Struct:
		return true
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() > 0
	}
	return !v.IsZero()
}

// htmlEscaper escapes text and quoted attribute values as html/template does.
var htmlEscaper = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// unsafeURL replaces a link that is not http, https or mailto, or holds a character a
// URL does not carry as is; the same stand-in html/template uses.
const unsafeURL = "#ZgotmplZ"

func safeURL(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 && !strings.Contains(s[:i], "/") {
		switch strings.ToLower(s[:i]) {
		case "http", "https", "mailto":
		default:
			return unsafeURL
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!#$&*+,/:;=?@[]%", c) >= 0) {
			return unsafeURL
		}
	}
	return s
}
