package httpapi_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kagiya/kagiya/shared/errcode"
	"github.com/kagiya/kagiya/shared/httpapi"
)

// openAPI is the part of docs/openapi.yaml these tests read.
type openAPI struct {
	OpenAPI    string                                 `yaml:"openapi"`
	Paths      map[string]map[string]yaml.Node        `yaml:"paths"`
	Components struct{ Schemas map[string]yaml.Node } `yaml:"components"`
}

func loadOpenAPI(t *testing.T) openAPI {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPI
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	return doc
}

// The reference and the handler list the same routes: a route added to routes.go
// without documentation, or documented but not served, fails here.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	var documented []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "patch", "delete":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			case "parameters", "summary", "description":
			default:
				t.Errorf("%s: unknown key %q", path, method)
			}
		}
	}
	served := httpapi.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	for _, r := range served {
		if !slices.Contains(documented, r) {
			t.Errorf("%s is served but not in docs/openapi.yaml", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			t.Errorf("%s is in docs/openapi.yaml but not served", r)
		}
	}
}

// The ErrorCode enum is the error table, code for code.
func TestOpenAPIErrorCodesAreTheTable(t *testing.T) {
	doc := loadOpenAPI(t)
	var schema struct {
		Enum []string `yaml:"enum"`
	}
	node := doc.Components.Schemas["ErrorCode"]
	if err := node.Decode(&schema); err != nil {
		t.Fatal(err)
	}
	var table []string
	for _, e := range errcode.All() {
		table = append(table, e.Code)
	}
	slices.Sort(table)
	slices.Sort(schema.Enum)
	if strings.Join(table, ",") != strings.Join(schema.Enum, ",") {
		t.Fatalf("ErrorCode enum %v\nerror table    %v", schema.Enum, table)
	}
}

// Every $ref points at something the document defines.
func TestOpenAPIReferencesResolve(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	refs := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					refs++
					var at any = doc
					for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
						m, _ := at.(map[string]any)
						at = m[part]
					}
					if at == nil {
						t.Errorf("unresolved $ref %s", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if refs < 20 {
		t.Fatalf("only %d references found; the walk is broken", refs)
	}
}

// docs/security.md names a test for each ASVS requirement it says is met: every name
// must be a test that exists, so the table cannot point at nothing.
func TestSecurityDocNamesRealTests(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "security.md"))
	if err != nil {
		t.Fatal(err)
	}
	var sources strings.Builder
	for _, dir := range []string{"shared", "infra"} {
		filepath.WalkDir(filepath.Join("..", "..", dir), func(path string, d os.DirEntry, err error) error { //nolint:errcheck
			if err == nil && !d.IsDir() && strings.HasSuffix(path, "_test.go") {
				b, _ := os.ReadFile(path)
				sources.Write(b)
			}
			return nil
		})
	}
	names := regexp.MustCompile("`(Test[A-Za-z0-9_]+)`").FindAllStringSubmatch(string(doc), -1)
	if len(names) < 30 {
		t.Fatalf("only %d test names in docs/security.md", len(names))
	}
	for _, n := range names {
		if !strings.Contains(sources.String(), "func "+n[1]+"(") {
			t.Errorf("docs/security.md names %s, which is not a test", n[1])
		}
	}
}
