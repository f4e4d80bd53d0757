package rie

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/intrinsics"
	"gopkg.in/yaml.v3"
)

// function is one Lambda function as the template configures it.
type function struct {
	Name    string            // the template's logical ID, e.g. LoginFunction
	Dir     string            // CodeUri, e.g. functions/login
	Env     map[string]string // Globals' variables, then the function's own
	Timeout int               // seconds
	Memory  int               // MB
}

// stack stands in for what CloudFormation would resolve at deploy: the parameters the
// operator gives, the pseudo parameters, and the values of the resources the functions'
// environment refers to (Ref and Fn::GetAtt), here pointing at the local stand-ins.
type stack struct {
	Params  map[string]any
	Pseudo  map[string]string
	Refs    map[string]string // logical ID: what Ref gives
	Attrs   map[string]string // "LogicalID.Attribute": what Fn::GetAtt gives
	Secrets map[string]string // secret ARN: its SecretString, for {{resolve:secretsmanager:...}}
}

// unresolved marks a reference the stack has no value for; a function's environment
// that holds one fails the test, naming it (anything else in the template may hold one).
const unresolved = "<unresolved "

var dynamicSecret = regexp.MustCompile(`\{\{resolve:secretsmanager:(.+?):SecretString\}\}`)

// functions reads every AWS::Serverless::Function of template.yaml with the environment,
// timeout and memory SAM gives it (Globals merged under the function's own), the
// template's intrinsics resolved against s.
func (s stack) functions(t *testing.T, path string) map[string]function {
	t.Helper()
	ref := func(name string) any {
		if v, ok := s.Pseudo[name]; ok {
			return v
		}
		if name == "AWS::NoValue" {
			return nil
		}
		if v, ok := s.Refs[name]; ok {
			return v
		}
		return unresolved + "Ref " + name + ">"
	}
	getAtt := func(res, attr string) any {
		if v, ok := s.Attrs[res+"."+attr]; ok {
			return v
		}
		return unresolved + "GetAtt " + res + "." + attr + ">"
	}
	// Ref of a parameter is its value: goformation's own handler reads the (overridden)
	// defaults; everything else comes from the stack.
	refHandler := func(name string, input any, tmpl any) any {
		if n, ok := input.(string); ok {
			if _, isParam := s.Params[n]; isParam || isParameter(tmpl, n) {
				return intrinsics.Ref(name, input, tmpl)
			}
			return ref(n)
		}
		return nil
	}
	getAttHandler := func(_ string, input any, _ any) any {
		switch v := input.(type) {
		case []any:
			if len(v) == 2 {
				return getAtt(fmt.Sprint(v[0]), fmt.Sprint(v[1]))
			}
		case string:
			if res, attr, ok := strings.Cut(v, "."); ok {
				return getAtt(res, attr)
			}
		}
		return unresolved + fmt.Sprintf("GetAtt %v>", input)
	}
	subHandler := func(name string, input any, tmpl any) any {
		src, vars := "", map[string]any{}
		switch v := input.(type) {
		case string:
			src = v
		case []any:
			if len(v) != 2 {
				return nil
			}
			src, _ = v[0].(string)
			if m, ok := v[1].(map[string]any); ok {
				vars = m
			}
		}
		return subVar.ReplaceAllStringFunc(src, func(m string) string {
			name := m[2 : len(m)-1]
			if strings.HasPrefix(name, "!") {
				return "${" + name[1:] + "}"
			}
			if v, ok := vars[name]; ok {
				return fmt.Sprint(v)
			}
			if res, attr, ok := strings.Cut(name, "."); ok {
				return fmt.Sprint(getAtt(res, attr))
			}
			v := refHandler("Ref", name, tmpl)
			if v == nil {
				return ""
			}
			return fmt.Sprint(v)
		})
	}
	// Fn::If by the template's conditions, evaluated here: goformation's EvaluateConditions
	// replaces every resource that has a Condition with the condition's value.
	var evalErrs []string
	var holds func(tmpl, expr any) bool
	value := func(tmpl, v any) string {
		if m, ok := v.(map[string]any); ok {
			if name, ok := m["Ref"].(string); ok {
				return fmt.Sprint(refHandler("Ref", name, tmpl))
			}
		}
		return fmt.Sprint(v)
	}
	holds = func(tmpl, expr any) bool {
		m, _ := expr.(map[string]any)
		args, _ := func() ([]any, bool) {
			for _, v := range m {
				a, ok := v.([]any)
				return a, ok
			}
			return nil, false
		}()
		switch {
		case m["Fn::Equals"] != nil && len(args) == 2:
			return value(tmpl, args[0]) == value(tmpl, args[1])
		case m["Fn::Not"] != nil && len(args) == 1:
			return !holds(tmpl, args[0])
		case m["Fn::And"] != nil:
			return !slices.ContainsFunc(args, func(a any) bool { return !holds(tmpl, a) })
		case m["Fn::Or"] != nil:
			return slices.ContainsFunc(args, func(a any) bool { return holds(tmpl, a) })
		case m["Condition"] != nil:
			return holds(tmpl, conditionOf(tmpl, fmt.Sprint(m["Condition"])))
		}
		evalErrs = append(evalErrs, fmt.Sprintf("condition %v", expr))
		return false
	}
	ifHandler := func(_ string, input any, tmpl any) any {
		if arr, ok := input.([]any); ok && len(arr) == 3 {
			if holds(tmpl, conditionOf(tmpl, fmt.Sprint(arr[0]))) {
				return arr[1]
			}
			return arr[2]
		}
		return nil
	}
	raw, err := functionsOnly(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tmpl, err := goformation.ParseYAMLWithOptions(raw, &intrinsics.ProcessorOptions{
		ParameterOverrides: s.Params,
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref": refHandler, "Fn::GetAtt": getAttHandler, "Fn::Sub": subHandler, "Fn::If": ifHandler,
		},
	})
	if len(evalErrs) > 0 {
		t.Errorf("%s: conditions this test cannot evaluate: %v", path, evalErrs)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	globals := &global.Function{}
	if g, ok := tmpl.Globals["Function"].(*global.Function); ok {
		globals = g
	}
	out := map[string]function{}
	for name, fn := range tmpl.GetAllServerlessFunctionResources() {
		if fn.CodeUri == nil || fn.CodeUri.String == nil {
			t.Fatalf("%s: no local CodeUri", name)
		}
		f := function{Name: name, Dir: filepath.Clean(*fn.CodeUri.String), Env: map[string]string{}, Timeout: 3, Memory: 128}
		if globals.Environment != nil {
			maps.Copy(f.Env, globals.Environment.Variables)
		}
		if fn.Environment != nil {
			maps.Copy(f.Env, fn.Environment.Variables)
		}
		for k, v := range f.Env {
			v = dynamicSecret.ReplaceAllStringFunc(v, func(m string) string {
				id := dynamicSecret.FindStringSubmatch(m)[1]
				if secret, ok := s.Secrets[id]; ok {
					return secret
				}
				return unresolved + "secret " + id + ">"
			})
			switch {
			case v == "": // !Ref AWS::NoValue: no variable
				delete(f.Env, k)
			case strings.Contains(v, unresolved):
				t.Errorf("%s: %s = %q: the test's stack has no value for it (add one in infra/rie)", name, k, v)
			default:
				f.Env[k] = v
			}
		}
		for _, n := range []struct {
			dst  *int
			vals []*int
		}{{&f.Timeout, []*int{globals.Timeout, fn.Timeout}}, {&f.Memory, []*int{globals.MemorySize, fn.MemorySize}}} {
			for _, v := range n.vals {
				if v != nil {
					*n.dst = *v
				}
			}
		}
		out[name] = f
	}
	if len(out) == 0 {
		t.Fatalf("%s has no functions", path)
	}
	return out
}

var subVar = regexp.MustCompile(`\$\{[^}]+\}`)

// functionsOnly is the template at path with only its serverless functions among the
// resources: what the functions' configuration depends on (parameters, conditions,
// globals, the functions), and nothing goformation might fail to read that does not
// (its v7.14.9 refuses the HTTP API's AccessLogSettings, for one).
func functionsOnly(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a YAML mapping")
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "Resources" {
			continue
		}
		res := root.Content[i+1]
		var kept []*yaml.Node
		for j := 0; j+1 < len(res.Content); j += 2 {
			var r struct {
				Type string `yaml:"Type"`
			}
			if res.Content[j+1].Decode(&r) == nil && r.Type == "AWS::Serverless::Function" {
				kept = append(kept, res.Content[j], res.Content[j+1])
			}
		}
		res.Content = kept
	}
	return yaml.Marshal(&doc)
}

// conditionOf is the template's condition called name.
func conditionOf(tmpl any, name string) any {
	m, _ := tmpl.(map[string]any)
	conds, _ := m["Conditions"].(map[string]any)
	return conds[name]
}

// isParameter reports whether the processed template declares a parameter name.
func isParameter(tmpl any, name string) bool {
	m, _ := tmpl.(map[string]any)
	params, _ := m["Parameters"].(map[string]any)
	_, ok := params[name]
	return ok
}

// environ is f's environment as Lambda gives it to the process: the template's variables,
// the ones Lambda sets itself, and extra (the stand-ins' endpoints).
func (f function) environ(extra map[string]string) []string {
	env := map[string]string{
		"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIARIETEST", "AWS_SECRET_ACCESS_KEY": "rie-test-secret", "AWS_SESSION_TOKEN": "rie-test-token",
		"AWS_LAMBDA_FUNCTION_NAME": f.Name, "AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(f.Timeout),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.Memory),
	}
	maps.Copy(env, f.Env)
	maps.Copy(env, extra)
	var out []string
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// The functions' configuration as the stack resolves it: Globals under each function's
// own variables, conditions, dynamic references, and Timeout and MemorySize. Runs without
// the emulator.
func TestStackResolvesTheTemplate(t *testing.T) {
	st := localStack("origin-value")
	fns := st.functions(t, filepath.Join("..", "..", "template.yaml"))
	login, bulk := fns["LoginFunction"], fns["BulkFunction"]
	for k, want := range map[string]string{"TABLE_NAME": st.Refs["Table"], "SITE_URL": "https://" + siteDomain,
		"MAIL_FROM": "no-reply@example.com", "SEAL_KMS_KEY": st.Attrs["SealKey.Arn"]} {
		if login.Env[k] != want {
			t.Errorf("LoginFunction %s = %q, want %q", k, login.Env[k], want)
		}
	}
	// The origin secret, resolved by its dynamic reference, or the secret's ARN for the
	// function to read at start.
	if login.Env["ORIGIN_SECRET"] != "origin-value" && login.Env["ORIGIN_SECRET_ARN"] != st.Refs["OriginSecret"] {
		t.Errorf("LoginFunction has neither the origin secret nor its ARN: %v", login.Env)
	}
	if v, ok := login.Env["PASSWORD_PEPPER_PARAM"]; ok {
		t.Errorf("PASSWORD_PEPPER_PARAM = %q without a PepperParameter (AWS::NoValue)", v)
	}
	if bulk.Env["CONTINUE_QUEUE_URL"] != st.Refs["ContinueQueue"] || bulk.Env["APPLY_QUEUE_URL"] != st.Refs["ApplyQueue"] ||
		bulk.Env["FAILED_RUN_QUEUE_ARN"] != st.Attrs["FailedRunQueue.Arn"] || bulk.Env["TABLE_NAME"] != st.Refs["Table"] ||
		bulk.Timeout != 900 || bulk.Memory != 3008 || login.Timeout != 10 || login.Memory != 1024 {
		t.Errorf("BulkFunction %+v, LoginFunction timeout %d memory %d", bulk, login.Timeout, login.Memory)
	}

	st.Params["PepperParameter"] = "/kagiya/pepper"
	if got := st.functions(t, filepath.Join("..", "..", "template.yaml"))["LoginFunction"].Env["PASSWORD_PEPPER_PARAM"]; got != "/kagiya/pepper" {
		t.Errorf("with a PepperParameter, PASSWORD_PEPPER_PARAM = %q", got)
	}
}
