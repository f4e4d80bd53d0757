package templatecheck

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/types"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/tools/go/packages"

	"github.com/kagiya/kagiya/shared/store/dynamostore/access"
)

// What a function's code can ask of the table, read from the code itself: from a
// function's roots (its main, and for an HTTP function the routes API Gateway sends it)
// every function and method of the module that is called or referenced is followed; an
// interface method of the module is followed into every module type that implements it;
// a method with the name and signature of one of dynamostore.Store's is a table call
// (whatever interface the consumer declared it on), and access.ByMethod says which.
// Code outside the module is not followed: the module's code that a library calls back
// is followed from where the module hands it over: a route's handler (net/http) from
// routes(), every method of a module type that reachable code makes by which an
// interface of an imported package could call it, and shared/idp whole (zitadel/oidc's
// storage and its callbacks).

const module = "github.com/kagiya/kagiya"

// callbackPackages hold code that a library outside the module calls: when a
// function's code reaches any of it, all of it is reachable.
var callbackPackages = []string{module + "/shared/idp"}

// notFollowed are the module's packages whose code no function reaches through the
// table: the store itself (its methods are the table calls) and test support.
func notFollowed(path string) bool {
	return strings.HasPrefix(path, module+"/shared/store") || path == module+"/shared/faults" ||
		path == module+"/shared/dnstest"
}

type reach struct {
	*code
	decls  map[*types.Func]*ast.FuncDecl
	info   map[*ast.FuncDecl]*types.Info
	byPath map[string]*packages.Package
	named  []*types.Named // the module's named types, for interface calls
	store  map[string]*types.Func
	seen   map[*types.Func]bool
	called map[string]bool // dynamostore.Store methods reached
}

// code is the module's packages as go/types sees them, loaded once for every test.
type code struct {
	pkgs     []*packages.Package
	external []*types.Interface             // externalInterfaces
	exposed  map[*types.Named][]*types.Func // made's answers
}

var loadCode = sync.OnceValues(func() (*code, error) {
	cfg := &packages.Config{Dir: root, Mode: packages.NeedName | packages.NeedSyntax | packages.NeedTypes |
		packages.NeedTypesInfo | packages.NeedImports | packages.NeedFiles}
	pkgs, err := packages.Load(cfg, "./shared/...", "./functions/...")
	if err != nil {
		return nil, err
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			return nil, fmt.Errorf("%s: %v", p.PkgPath, e)
		}
	}
	return &code{pkgs: pkgs, external: externalInterfaces(pkgs), exposed: map[*types.Named][]*types.Func{}}, nil
})

func newReach(t *testing.T) *reach {
	c, err := loadCode()
	if err != nil {
		t.Fatal(err)
	}
	r := &reach{code: c, decls: map[*types.Func]*ast.FuncDecl{}, info: map[*ast.FuncDecl]*types.Info{},
		byPath: map[string]*packages.Package{}, store: map[string]*types.Func{},
		seen: map[*types.Func]bool{}, called: map[string]bool{}}
	for _, p := range c.pkgs {
		r.byPath[p.PkgPath] = p
		for _, f := range p.Syntax {
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok {
					if fn, ok := p.TypesInfo.Defs[fd.Name].(*types.Func); ok {
						r.decls[fn] = fd
						r.info[fd] = p.TypesInfo
					}
				}
			}
		}
		scope := p.Types.Scope()
		for _, name := range scope.Names() {
			if tn, ok := scope.Lookup(name).(*types.TypeName); ok {
				if n, ok := tn.Type().(*types.Named); ok && !types.IsInterface(n) {
					r.named = append(r.named, n)
				}
			}
		}
	}
	ds := r.byPath[module+"/shared/store/dynamostore"]
	if ds == nil {
		t.Fatal("dynamostore not loaded")
	}
	st := ds.Types.Scope().Lookup("Store").Type()
	ms := types.NewMethodSet(types.NewPointer(st))
	for i := range ms.Len() {
		if f := ms.At(i).Obj().(*types.Func); f.Exported() {
			r.store[f.Name()] = f
		}
	}
	return r
}

// storeCall reports whether f is one of dynamostore.Store's methods, or an interface
// method with the same name and signature (the store behind a consumer's interface).
func (r *reach) storeCall(f *types.Func) bool {
	m := r.store[f.Name()]
	return m != nil && (m == f || types.Identical(m.Type(), f.Type()))
}

// use follows a function or method that reachable code calls or references.
func (r *reach) use(f *types.Func) {
	f = f.Origin()
	if f.Pkg() == nil || !strings.HasPrefix(f.Pkg().Path(), module+"/") {
		return
	}
	sig := f.Type().(*types.Signature)
	if recv := sig.Recv(); recv != nil && types.IsInterface(recv.Type()) {
		if r.storeCall(f) {
			r.called[f.Name()] = true
			return
		}
		iface := recv.Type().Underlying().(*types.Interface)
		for _, n := range r.named {
			if notFollowed(n.Obj().Pkg().Path()) {
				continue
			}
			for _, typ := range []types.Type{n, types.NewPointer(n)} {
				if types.Implements(typ, iface) {
					if obj, _, _ := types.LookupFieldOrMethod(typ, false, f.Pkg(), f.Name()); obj != nil {
						r.use(obj.(*types.Func))
					}
					break
				}
			}
		}
		return
	}
	if notFollowed(f.Pkg().Path()) {
		if r.storeCall(f) {
			r.called[f.Name()] = true
		}
		return
	}
	r.visit(f)
}

func (r *reach) visit(f *types.Func) {
	if r.seen[f] {
		return
	}
	r.seen[f] = true
	if slices.Contains(callbackPackages, f.Pkg().Path()) {
		r.rootPackage(f.Pkg().Path())
	}
	fd := r.decls[f]
	if fd == nil || fd.Body == nil {
		return
	}
	if f.Name() == "routes" && f.Pkg().Path() == module+"/shared/httpapi" {
		return // every route: a function's own are its roots (rootRoute)
	}
	r.walk(fd.Body, r.info[fd])
}

func (r *reach) walk(n ast.Node, info *types.Info) {
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			if f, ok := info.Uses[n].(*types.Func); ok {
				r.use(f)
			}
		case *ast.CompositeLit:
			r.made(info.TypeOf(n))
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "new" && len(n.Args) == 1 {
				r.made(info.TypeOf(n.Args[0]))
			}
		}
		return true
	})
}

// made follows the methods by which code outside the module could call a module type
// that reachable code makes (a composite literal, new): those of every interface of the
// packages the module imports that the type implements (an http.Handler, an io.Writer, a
// library's storage interface).
func (r *reach) made(t types.Type) {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil || !strings.HasPrefix(n.Obj().Pkg().Path(), module+"/") || notFollowed(n.Obj().Pkg().Path()) {
		return
	}
	methods, ok := r.exposed[n]
	if !ok {
		ptr := types.NewPointer(n)
		for _, iface := range r.external {
			if !types.Implements(ptr, iface) {
				continue
			}
			for i := range iface.NumMethods() {
				m := iface.Method(i)
				if obj, _, _ := types.LookupFieldOrMethod(ptr, false, m.Pkg(), m.Name()); obj != nil {
					if f, ok := obj.(*types.Func); ok {
						methods = append(methods, f)
					}
				}
			}
		}
		r.exposed[n] = methods
	}
	for _, f := range methods {
		r.use(f)
	}
}

// externalInterfaces are the interfaces with methods that the packages outside the
// module, which the module imports, declare.
func externalInterfaces(pkgs []*packages.Package) []*types.Interface {
	seen := map[*types.Package]bool{}
	var out []*types.Interface
	var visit func(p *types.Package)
	visit = func(p *types.Package) {
		if seen[p] {
			return
		}
		seen[p] = true
		if !strings.HasPrefix(p.Path(), module+"/") {
			scope := p.Scope()
			for _, name := range scope.Names() {
				if tn, ok := scope.Lookup(name).(*types.TypeName); ok && tn.Exported() {
					if iface, ok := tn.Type().Underlying().(*types.Interface); ok && iface.NumMethods() > 0 {
						out = append(out, iface)
					}
				}
			}
		}
		for _, q := range p.Imports() {
			visit(q)
		}
	}
	for _, p := range pkgs {
		visit(p.Types)
	}
	return out
}

func (r *reach) rootPackage(path string) {
	for f := range r.decls {
		if f.Pkg().Path() == path {
			r.visit(f)
		}
	}
}

// rootMain follows a function's command (functions/<dir>).
func (r *reach) rootMain(t *testing.T, dir string) {
	p := r.byPath[module+"/functions/"+dir]
	if p == nil {
		t.Fatalf("no package functions/%s", dir)
	}
	r.use(p.Types.Scope().Lookup("main").(*types.Func))
}

// rootRoute follows the handler of one route of httpapi's routes(), as API Gateway
// sends it to the function.
func (r *reach) rootRoute(t *testing.T, method, path string) {
	p := r.byPath[module+"/shared/httpapi"]
	var routes *ast.FuncDecl
	for f, fd := range r.decls {
		if f.Name() == "routes" && f.Pkg() == p.Types {
			routes = fd
		}
	}
	if routes == nil {
		t.Fatal("httpapi has no routes()")
	}
	info := r.info[routes]
	found := false
	ast.Inspect(routes.Body, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok || len(lit.Elts) != 3 {
			return true
		}
		str := func(e ast.Expr) string {
			if tv, ok := info.Types[e]; ok && tv.Value != nil && tv.Value.Kind() == constant.String {
				return constant.StringVal(tv.Value)
			}
			return ""
		}
		if str(lit.Elts[0]) == method && str(lit.Elts[1]) == path {
			found = true
			r.walk(lit.Elts[2], info)
		}
		return false
	})
	if !found {
		t.Errorf("%s %s: not in httpapi's routes()", method, path)
	}
}

// needed is what a function's code can ask of the table: "dynamodb:Action KIND" for
// each table call reachable from its command and, for an HTTP function, its routes.
func needed(t *testing.T, function string) []string {
	t.Helper()
	var doc struct {
		Resources map[string]struct {
			Properties struct {
				CodeUri string `yaml:"CodeUri"`
				Events  map[string]struct {
					Type       string `yaml:"Type"`
					Properties struct {
						Method string `yaml:"Method"`
						Path   string `yaml:"Path"`
					} `yaml:"Properties"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &doc)
	fn := doc.Resources[function].Properties
	r := newReach(t)
	r.rootMain(t, strings.Trim(strings.TrimPrefix(fn.CodeUri, "functions/"), "/"))
	for _, ev := range fn.Events {
		if ev.Type != "HttpApi" {
			continue
		}
		p := ev.Properties.Path
		if strings.HasPrefix(p, "/api/oidc/") || strings.HasPrefix(p, "/.well-known/") {
			continue // the provider's (shared/idp, mounted by lambdaapi), followed whole
		}
		r.rootRoute(t, ev.Properties.Method, p)
	}
	set := map[string]bool{}
	for m := range r.called {
		calls, ok := access.ByMethod[m]
		if !ok {
			t.Errorf("%s: reaches dynamostore's %s, which access.ByMethod does not list", function, m)
		}
		for _, c := range calls {
			set[c] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// TestFunctionRightsAreWhatItsCodeReaches holds each function's table rights to what its
// code can ask (needed): every action on every key kind it can reach is allowed, on the
// table or, for the list's queries, on its indexes (whose partitions are tenant IDs),
// and nothing more. A right too narrow would fail only in AWS; one too wide is a lever
// nothing uses.
func TestFunctionRightsAreWhatItsCodeReaches(t *testing.T) {
	var doc struct {
		Resources map[string]struct {
			Type string `yaml:"Type"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &doc)
	n := 0
	for name, res := range doc.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		n++
		var want []string
		for _, c := range needed(t, name) {
			if strings.HasSuffix(c, " ten_") {
				c += " (index)"
			}
			want = append(want, c)
		}
		got := slices.Sorted(maps.Keys(granted(t, name)))
		if !slices.Equal(got, want) {
			t.Errorf("%s's table rights:\n  %s\nwhat its code can ask:\n  %s", name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
	if n < 9 {
		t.Fatalf("%d functions in the template", n)
	}
}
