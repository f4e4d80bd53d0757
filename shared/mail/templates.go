package mail

import (
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"reflect"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"unicode"
)

//go:embed templates
var templateFS embed.FS

// languages are the languages every email is written in; the first is the default.
var languages = [...]string{"ja", "en"}

// Templates renders the emails. Each kind has, per language, a file
// templates/<kind>.<lang>.txt whose first line is the subject and the rest the text
// body (text/template), and templates/<kind>.<lang>.html (html/template). Their data is
// the kind's struct (emails.go).
type Templates struct {
	byName map[string]*letter // by "<kind>.<lang>"
}

// letter is one kind of email in one language.
type letter struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
}

// LoadTemplates parses the embedded templates and checks every field they print against
// their kind's struct.
func LoadTemplates() (*Templates, error) {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	t, err := loadTemplates(sub, kinds())
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	return t, nil
}

// loadTemplates parses the templates of kinds in fsys; every file there must belong to
// one of them.
func loadTemplates(fsys fs.FS, kinds []Email) (*Templates, error) {
	t := &Templates{byName: map[string]*letter{}}
	used := map[string]bool{}
	for _, e := range kinds {
		for _, lang := range languages {
			name := e.kind() + "." + lang
			l, err := parseLetter(fsys, name, reflect.TypeOf(e).Elem())
			if err != nil {
				return nil, err
			}
			t.byName[name] = l
			used[name+".txt"], used[name+".html"] = true, true
		}
	}
	files, err := fs.Glob(fsys, "*")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if !used[f] {
			return nil, fmt.Errorf("%s: no kind of email has this template", f)
		}
	}
	return t, nil
}

// parseLetter parses name's .txt and .html, checks that the fields they print are data's
// (a struct type), and runs them once on data's zero value, which makes html/template
// escape them now: a template it cannot escape fails here, not when a message is sent.
func parseLetter(fsys fs.FS, name string, data reflect.Type) (*letter, error) {
	txt, err := fs.ReadFile(fsys, name+".txt")
	if err != nil {
		return nil, err
	}
	html, err := fs.ReadFile(fsys, name+".html")
	if err != nil {
		return nil, err
	}
	subject, body, _ := strings.Cut(string(txt), "\n")
	var l letter
	if l.subject, err = texttemplate.New(name + ".txt (subject)").Parse(subject); err != nil {
		return nil, err
	}
	if l.text, err = texttemplate.New(name + ".txt").Parse(strings.TrimLeft(body, "\n")); err != nil {
		return nil, err
	}
	if l.html, err = htmltemplate.New(name + ".html").Parse(string(html)); err != nil {
		return nil, err
	}
	for _, tree := range []*parse.Tree{l.subject.Tree, l.text.Tree, l.html.Tree} {
		if err := checkFields(tree.Name, tree.Root, data); err != nil {
			return nil, err
		}
	}
	zero := reflect.New(data).Interface()
	for _, run := range []func() error{
		func() error { return l.subject.Execute(io.Discard, zero) },
		func() error { return l.text.Execute(io.Discard, zero) },
		func() error { return l.html.Execute(io.Discard, zero) },
	} {
		if err := run(); err != nil {
			return nil, err
		}
	}
	return &l, nil
}

// checkFields walks a template and requires every field it names to be one of data's
// (fields of fields for .A.B). The templates use text, fields, {{if}} and functions of
// fields ({{if eq .A "x"}}); what would move the dot ({{range}}, {{with}}, templates,
// variables) is refused, so every field is relative to data.
func checkFields(name string, n parse.Node, data reflect.Type) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkFields(name, c, data); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return checkFields(name, n.Pipe, data)
	case *parse.IfNode:
		for _, c := range []parse.Node{n.Pipe, n.List, n.ElseList} {
			if err := checkFields(name, c, data); err != nil {
				return err
			}
		}
	case *parse.PipeNode:
		if len(n.Decl) > 0 {
			return fmt.Errorf("%s: variables are not supported: %s", name, n)
		}
		for _, c := range n.Cmds {
			if err := checkFields(name, c, data); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for _, c := range n.Args {
			if err := checkFields(name, c, data); err != nil {
				return err
			}
		}
	case *parse.FieldNode:
		return checkPath(name, n.Ident, data)
	case *parse.TextNode, *parse.CommentNode, *parse.IdentifierNode, *parse.StringNode,
		*parse.NumberNode, *parse.BoolNode, *parse.NilNode:
	default:
		return fmt.Errorf("%s: %s is not supported in an email template", name, n)
	}
	return nil
}

// checkPath requires path (A, B for .A.B) to name exported fields through structs.
func checkPath(name string, path []string, data reflect.Type) error {
	t := data
	for i, field := range path {
		if t.Kind() != reflect.Struct {
			return fmt.Errorf("%s: .%s: %s has no fields", name, strings.Join(path[:i+1], "."), t)
		}
		f, ok := t.FieldByName(field)
		if !ok || !f.IsExported() {
			return fmt.Errorf("%s: .%s: %s has no field %s", name, strings.Join(path[:i+1], "."), data, field)
		}
		t = f.Type
	}
	return nil
}

// Render builds the email e in lang ("ja" or "en"; others: ja) for to, which it sets as
// e's Recipient.
func (t *Templates) Render(lang string, to Recipient, e Email) (Message, error) {
	if lang != "en" {
		lang = languages[0]
	}
	name := e.kind() + "." + lang
	l := t.byName[name]
	if l == nil {
		return Message{}, fmt.Errorf("no email template %s", name)
	}
	*e.recipient() = to
	var subject, text, html strings.Builder
	for _, err := range []error{l.subject.Execute(&subject, e), l.text.Execute(&text, e), l.html.Execute(&html, e)} {
		if err != nil {
			return Message{}, fmt.Errorf("render %s: %w", name, err)
		}
	}
	return Message{To: []string{to.LoginID}, Subject: oneLine(subject.String()), Text: text.String(), HTML: html.String(),
		Meta: Meta{Kind: e.kind()}}, nil
}

// oneLine makes s one line of text: each run of spaces, line breaks, other control
// characters and bidirectional formatting marks becomes one space, so that a value
// printed in a subject cannot end it or start another line.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
	}), " ")
}
