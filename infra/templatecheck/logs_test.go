package templatecheck

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// loggingConfig is what every function's logs are: Lambda's JSON format, Lambda's own
// lines from WARN up (no START, END or REPORT line an invocation), and every line the
// function writes passed on (the functions filter their own by LOG_LEVEL).
var loggingConfig = map[string]string{"LogFormat": "JSON", "SystemLogLevel": "WARN", "ApplicationLogLevel": "TRACE"}

// The functions' logs go without Lambda's per-invocation platform lines: the Globals'
// LoggingConfig is the JSON format with system logs from WARN, no function overrides it,
// and the functions write their lines as JSON objects (slog's JSON handler), which
// Lambda's JSON format passes on unchanged.
func TestFunctionLogsWithoutPlatformLines(t *testing.T) {
	var doc struct {
		Globals struct {
			Function struct {
				LoggingConfig map[string]string `yaml:"LoggingConfig"`
			} `yaml:"Function"`
		} `yaml:"Globals"`
		Resources map[string]struct {
			Type       string         `yaml:"Type"`
			Properties map[string]any `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &doc)
	if got := doc.Globals.Function.LoggingConfig; !maps.Equal(got, loggingConfig) {
		t.Errorf("Globals LoggingConfig %v, want %v", got, loggingConfig)
	}
	for name, r := range doc.Resources {
		if r.Type == "AWS::Serverless::Function" && r.Properties["LoggingConfig"] != nil {
			t.Errorf("%s sets its own LoggingConfig", name)
		}
	}
	for _, dir := range []string{"shared", "functions"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if bytes.Contains(src, []byte("slog.NewTextHandler")) {
				t.Errorf("%s logs plain text: Lambda's JSON format would wrap its lines, and the metric filters read JSON", path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// filterPattern is the one form of CloudWatch Logs filter pattern the template uses: a
// JSON line whose top-level field equals a string or a number. A pattern of any other
// form fails the test (and must be added here, with what it matches).
var filterPattern = regexp.MustCompile(`^\{ \$\.(\w+) = ("[^"\\]*"|-?[0-9]+) \}$`)

// matches reports whether the JSON line's field equals the pattern's literal as
// CloudWatch compares them: a quoted literal a string, a bare one a number.
func matches(line map[string]any, field, literal string) bool {
	v, ok := line[field]
	if !ok {
		return false
	}
	if s, err := strconv.Unquote(literal); err == nil {
		got, isString := v.(string)
		return isString && got == s
	}
	n, err := strconv.ParseFloat(literal, 64)
	got, isNumber := v.(float64)
	return err == nil && isNumber && got == n
}

// Every metric filter matches the lines it is there to count, as they are written: on a
// function's log group, an error line the code writes (its message found in the code as
// an ErrorContext call, rendered by slog's JSON handler as the functions log); on the
// API's access log, the template's own format filled in with the status counted.
func TestMetricFiltersMatchTheLines(t *testing.T) {
	var doc struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				LogGroupName      valueOf `yaml:"LogGroupName"`
				FilterPattern     string  `yaml:"FilterPattern"`
				AccessLogSettings struct {
					Format string `yaml:"Format"`
				} `yaml:"AccessLogSettings"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	decodeTemplate(t, &doc)
	var src bytes.Buffer
	err := filepath.WalkDir(filepath.Join(root, "shared"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		src.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	filters := 0
	for name, r := range doc.Resources {
		if r.Type != "AWS::Logs::MetricFilter" {
			continue
		}
		filters++
		p := filterPattern.FindStringSubmatch(r.Properties.FilterPattern)
		if p == nil {
			t.Errorf("%s: pattern %q is not of a form this test reads", name, r.Properties.FilterPattern)
			continue
		}
		field, literal := p[1], p[2]
		group := doc.Resources[r.Properties.LogGroupName.Arg]
		if r.Properties.LogGroupName.Tag != "!Ref" || group.Type != "AWS::Logs::LogGroup" {
			t.Errorf("%s: log group %v is not one of the stack's", name, r.Properties.LogGroupName)
			continue
		}
		var line map[string]any
		switch fn := regexp.MustCompile(`^/aws/lambda/\$\{(\w+)\}$`).FindStringSubmatch(group.Properties.LogGroupName.Arg); {
		case fn != nil && doc.Resources[fn[1]].Type == "AWS::Serverless::Function":
			msg, err := strconv.Unquote(literal)
			if field != "msg" || err != nil {
				t.Errorf("%s: on %s's log, %s = %s: the functions' lines are counted by their message", name, fn[1], field, literal)
				continue
			}
			if !regexp.MustCompile(`\.ErrorContext\([^,]+, "` + regexp.QuoteMeta(msg) + `"`).Match(src.Bytes()) {
				t.Errorf("%s: no function logs %q as an error", name, msg)
				continue
			}
			var b bytes.Buffer
			slog.New(slog.NewJSONHandler(&b, nil)).Error(msg, "err", "an error")
			if err := json.Unmarshal(b.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
		case r.Properties.LogGroupName.Arg == "ApiAccessLogs":
			format := doc.Resources["HttpApi"].Properties.AccessLogSettings.Format
			value := strings.Trim(literal, `"`)
			filled := regexp.MustCompile(`\$context\.[A-Za-z.]+`).ReplaceAllStringFunc(format, func(v string) string {
				if v == "$context."+field {
					return value
				}
				return "-"
			})
			if err := json.Unmarshal([]byte(filled), &line); err != nil {
				t.Fatalf("access log line %s: %v", filled, err)
			}
			if !strings.Contains(format, `"`+field+`":"$context.`+field+`"`) {
				t.Errorf("%s: the access log has no field %s", name, field)
			}
		default:
			t.Errorf("%s: on %s, neither a function's log nor the access log", name, group.Properties.LogGroupName.Arg)
			continue
		}
		if !matches(line, field, literal) {
			t.Errorf("%s: %s does not match the line %v", name, r.Properties.FilterPattern, line)
		}
	}
	if filters == 0 {
		t.Fatal("no metric filters")
	}
}
