// Package build holds infra/build/Makefile, which `sam build` runs for every function,
// and the test that runs it the way SAM does.
package build

import (
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const root = "../.."

// budgets reads budgets.txt: the most each function's bootstrap may weigh, by the name
// of its directory under functions/ (README: Function binaries; infra/test.sh holds its
// own builds to the same figures).
func budgets(t *testing.T) map[string]int64 {
	t.Helper()
	raw, err := os.ReadFile("budgets.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for i, line := range strings.Split(string(raw), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) < 2 {
			t.Fatalf("budgets.txt:%d: want a function and its budget in bytes, got %q", i+1, line)
		}
		n, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || n <= 0 {
			t.Fatalf("budgets.txt:%d: want a function and its budget in bytes, got %q", i+1, line)
		}
		out[fields[0]] = n
	}
	return out
}

// TestSAMBuildsEveryFunction reproduces `sam build` for each function of template.yaml
// (BuildMethod: makefile). SAM CLI copies the function's CodeUri to a scratch directory
// (skipping .aws-sam and .git) and aws-lambda-builders' custom_make workflow runs, in that
// scratch directory, `make --makefile <ContextPath>/Makefile build-<LogicalId>` with
// ARTIFACTS_DIR in the environment (aws/aws-lambda-builders,
// aws_lambda_builders/workflows/custom_make/workflow.py and actions.py: CopySourceAction to
// scratch_dir, then subprocess_make.run([... "--makefile", manifest_path,
// "build-<id>"], env=..., cwd=scratch_dir)). The artifact must be a linux/arm64 ELF named
// bootstrap (Runtime provided.al2023, Architectures arm64), within its budget.
func TestSAMBuildsEveryFunction(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not on PATH; sam build needs it too (README: Deployment)")
	}
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]struct {
			Type     string `yaml:"Type"`
			Metadata struct {
				BuildMethod string `yaml:"BuildMethod"`
				ContextPath string `yaml:"ContextPath"`
			} `yaml:"Metadata"`
			Properties struct {
				CodeURI string `yaml:"CodeUri"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	budget := budgets(t)
	built := 0
	for name, fn := range doc.Resources {
		if fn.Type != "AWS::Serverless::Function" {
			continue
		}
		built++
		t.Run(name, func(t *testing.T) {
			if fn.Properties.CodeURI == "" {
				t.Fatal("no local CodeUri")
			}
			if fn.Metadata.BuildMethod != "makefile" || fn.Metadata.ContextPath == "" {
				t.Fatalf("Metadata %+v: not a makefile build", fn.Metadata)
			}
			makefile, err := filepath.Abs(filepath.Join(root, fn.Metadata.ContextPath, "Makefile"))
			if err != nil {
				t.Fatal(err)
			}
			// Deep enough that a Makefile finding the module from its working directory
			// (two levels up) lands nowhere near it.
			scratch := filepath.Join(t.TempDir(), "tmp", "scratch", "build")
			copyTree(t, filepath.Join(root, fn.Properties.CodeURI), scratch)
			artifacts := t.TempDir()

			cmd := exec.Command("make", "--makefile", makefile, "build-"+name)
			cmd.Dir = scratch
			cmd.Env = append(os.Environ(), "ARTIFACTS_DIR="+artifacts)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make in a copy of %s: %v\n%s", fn.Properties.CodeURI, err, out)
			}

			bootstrap := filepath.Join(artifacts, "bootstrap")
			f, err := elf.Open(bootstrap)
			if err != nil {
				t.Fatalf("the artifact: %v", err)
			}
			defer f.Close()
			if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 || f.OSABI != elf.ELFOSABI_NONE || f.Type != elf.ET_EXEC {
				t.Errorf("bootstrap is %v %v %v %v, want a 64-bit arm64 Linux executable", f.Class, f.Machine, f.OSABI, f.Type)
			}
			if interp := f.Section(".interp"); interp != nil {
				t.Error("bootstrap is dynamically linked; provided.al2023 needs a static binary")
			}
			st, err := os.Stat(bootstrap)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode()&0o111 == 0 {
				t.Error("bootstrap is not executable")
			}
			t.Logf("%s: %d bytes", name, st.Size())
			fnBudget, ok := budget[filepath.Base(fn.Properties.CodeURI)]
			if !ok {
				t.Fatalf("no budget for %s in budgets.txt", fn.Properties.CodeURI)
			}
			if st.Size() > fnBudget {
				t.Errorf("bootstrap is %d bytes, over its budget of %d (budgets.txt)", st.Size(), fnBudget)
			}
		})
	}
	if built == 0 {
		t.Fatal("no functions in template.yaml")
	}
}

// copyTree copies src into dst as SAM's CopySourceAction does: everything but .aws-sam
// and .git.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".aws-sam" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
	if _, err := os.Stat(filepath.Join(dst, "main.go")); err != nil {
		t.Fatalf("the copy of %s lacks main.go: %v", src, err)
	}
}
