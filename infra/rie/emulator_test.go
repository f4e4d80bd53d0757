// Package rie runs the Lambda functions as Lambda runs them: each built for this machine
// with the flags of infra/test.sh (CGO_ENABLED=0, -tags lambda.norpc, -trimpath), started
// under AWS's Runtime Interface Emulator with the environment template.yaml gives it,
// and driven with the events Lambda would send (API Gateway HTTP API v2, S3, SQS, SNS)
// against minidyn, gofakes3 and aws-ses-v2-local.
package rie

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the emulator's version, as the Go module proxy serves it.
const Version = "v0.0.0-20261030222936-bef5c4ba774d"

const (
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	requireEnv = "KAGIYA_REQUIRE_RIE" // set by infra/test.sh: no skipping
	binEnv     = "KAGIYA_RIE"         // a prebuilt aws-lambda-rie (infra/test.sh installs one)
	sesEnv     = "KAGIYA_TEST_SES_ENDPOINT"
)

// skipOrFail skips with reason, or fails when infra/test.sh requires the test to run.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv(requireEnv) != "" {
		t.Fatalf(format+" (and %s is set)", append(args, requireEnv)...)
	}
	t.Skipf(format, args...)
}

// infra/test.sh installs the emulator this test names, so its KAGIYA_RIE is this version.
func TestTestScriptInstallsThisEmulator(t *testing.T) {
	sh, err := os.ReadFile(filepath.Join("..", "test.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"go install " + rieModule + "@" + Version, "export KAGIYA_RIE=", "export " + requireEnv + "=1"} {
		if !strings.Contains(string(sh), want) {
			t.Errorf("infra/test.sh lacks %q", want)
		}
	}
}

// emulator returns the aws-lambda-rie binary: KAGIYA_RIE's, or one installed now from
// the module proxy into a temporary GOBIN.
func emulator(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		skipOrFail(t, "the Runtime Interface Emulator runs on Linux only, not %s", runtime.GOOS)
	}
	if bin := os.Getenv(binEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s: %v", binEnv, err)
		}
		return bin
	}
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", rieModule+"@"+Version)
	cmd.Dir = gobin // outside the module: the emulator's own go.mod decides its dependencies
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		skipOrFail(t, "cannot install the Runtime Interface Emulator (%s@%s) from the module proxy: %v\n%s", rieModule, Version, err, out)
	}
	return filepath.Join(gobin, "aws-lambda-rie")
}

// build builds each function's bootstrap for this machine as infra/test.sh builds it for
// Lambda (two at a time), into dir/<CodeUri base>/bootstrap.
func build(t *testing.T, fns map[string]function, dir string) map[string]string {
	t.Helper()
	bins := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, 2)
	for name, f := range fns {
		bin := filepath.Join(dir, filepath.Base(f.Dir), "bootstrap")
		bins[name] = bin
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, "./"+f.Dir)
			cmd.Dir = filepath.Join("..", "..")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
			if out, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				defer mu.Unlock()
				t.Errorf("build %s (%s): %v\n%s", name, f.Dir, err, out)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return bins
}

// logBuffer collects a process's output for the test's failure report and its checks.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// running is one function under its own emulator.
type running struct {
	name string
	url  string // the emulator's invoke URL
	log  *logBuffer
}

// freePort is a port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// start runs bin under the emulator with env, each on free ports (the emulator's own,
// and the Runtime API it serves the function), and returns once the emulator accepts
// connections. Cleanup stops the emulator and the function (its process group) by PID.
func start(t *testing.T, rie, name, bin string, env []string) *running {
	t.Helper()
	addr, api := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	logs := &logBuffer{}
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, bin)
	cmd.Dir = filepath.Dir(bin) // the function's directory, as /var/task is in Lambda
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() //nolint:errcheck // the exit is reported below
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pid, syscall.SIGKILL) //nolint:errcheck // the group may be gone already
		<-exited
		if t.Failed() {
			t.Logf("%s's emulator and function output:\n%s", name, logs)
		}
	})
	ready := time.NewTimer(20 * time.Second)
	defer ready.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &running{name: name, url: "http://" + addr + "/2015-03-31/functions/function/invocations", log: logs}
		}
		select {
		case <-exited:
			t.Fatalf("%s: the emulator exited before it listened:\n%s", name, logs)
		case <-ready.C:
			t.Fatalf("%s: the emulator did not listen on %s in 20 s:\n%s", name, addr, logs)
		case <-poll.C:
		}
	}
}

// invoke sends one event to the function, as Lambda's Invoke API would, and returns the
// function's answer; a function error (or a failed init) is an error.
func (r *running) invoke(t *testing.T, event any) json.RawMessage {
	t.Helper()
	body, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", r.name, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var fnErr struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(out, &fnErr) == nil && fnErr.ErrorType != "" {
		t.Fatalf("invoke %s: %d %s", r.name, res.StatusCode, out)
	}
	return out
}

// sesMail is a message as aws-ses-v2-local stores it.
type sesMail struct {
	From        string `json:"from"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		Text string `json:"text"`
	} `json:"body"`
}

// mailTo returns the messages the SES stand-in at endpoint received for to.
func mailTo(t *testing.T, endpoint, to string) []sesMail {
	t.Helper()
	res, err := http.Get(strings.TrimRight(endpoint, "/") + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var store struct {
		Emails []sesMail `json:"emails"`
	}
	if err := json.NewDecoder(res.Body).Decode(&store); err != nil {
		t.Fatal(err)
	}
	var out []sesMail
	for _, m := range store.Emails {
		for _, d := range m.Destination.To {
			if strings.EqualFold(d, to) {
				out = append(out, m)
			}
		}
	}
	return out
}
