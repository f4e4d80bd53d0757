// Command import turns a Dovecot passwd-file into a Kagiya bulk CSV, so a hosting
// operator moves a domain's mail accounts in two steps: convert, upload (create mode).
//
//	go run ./infra/import -in /etc/dovecot/users > accounts.csv
//
// Each line user:{SCHEME}hash:uid:gid:gecos:home:shell:extra_fields becomes a row
// mail_account,password,password_hash,mail_capacity: the hash goes to password_hash as it
// is (Kagiya checks it with its own scheme and replaces it at the first sign-in), a
// {PLAIN}/{CLEAR} password goes to password, and the quota of
// userdb_quota_rule=*:storage=10G is rounded up to a capacity Kagiya offers (0, 1, 2, 5,
// 10, 20, 50, 100 GB), with a warning for each rounded row. Problems are reported by line
// on standard error; any error and nothing is written.
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/kagiya/kagiya/shared/password"
)

func main() {
	in := flag.String("in", "-", "the Dovecot passwd-file (- for standard input)")
	out := flag.String("out", "-", "the CSV to write (- for standard output)")
	flag.Parse()
	if err := run(*in, *out, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "import:", err)
		os.Exit(1)
	}
}

func run(inPath, outPath string, stdin io.Reader, stdout, stderr io.Writer) error {
	src := stdin
	if inPath != "-" {
		f, err := os.Open(inPath)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	rows, warnings, errs := convert(src)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	for _, e := range errs {
		fmt.Fprintln(stderr, "error:", e)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d lines could not be converted; nothing written", len(errs))
	}
	dst := stdout
	if outPath != "-" {
		f, err := os.Create(outPath)
		if err != nil {
			return err
		}
		defer f.Close()
		dst = f
	}
	w := csv.NewWriter(dst)
	w.UseCRLF = true
	w.Write([]string{"mail_account", "password", "password_hash", "mail_capacity"}) //nolint:errcheck // flushed below
	for _, r := range rows {
		w.Write(r) //nolint:errcheck // flushed below
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d accounts converted\n", len(rows))
	return nil
}

// capacities are the quotas Kagiya offers, in GB.
var capacities = []float64{0, 1, 2, 5, 10, 20, 50, 100}

// convert reads a passwd-file and returns the CSV rows, warnings and errors by line.
func convert(r io.Reader) (rows [][]string, warnings, errs []string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	weak := false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, ":", 8)
		if len(f) < 2 || f[0] == "" {
			errs = append(errs, fmt.Sprintf("line %d: not user:password:...", n))
			continue
		}
		user, secret := f[0], f[1]
		row := []string{user, "", "", ""}
		switch {
		case strings.HasPrefix(secret, "{PLAIN}"), strings.HasPrefix(secret, "{CLEAR}"):
			row[1] = secret[7:]
			warnings = append(warnings, fmt.Sprintf("line %d (%s): a plaintext password, put in the password column (it must meet the tenant's rules)", n, user))
		case secret == "":
			errs = append(errs, fmt.Sprintf("line %d (%s): no password", n, user))
			continue
		default:
			in, err := password.ParseImported(secret, true)
			var ce *password.CostError
			switch {
			case errors.As(err, &ce):
				errs = append(errs, fmt.Sprintf("line %d (%s): the hash's cost is above %s", n, user, ce.Limit))
				continue
			case err != nil:
				errs = append(errs, fmt.Sprintf("line %d (%s): %v", n, user, err))
				continue
			case in.Weak:
				weak = true
			}
			row[2] = secret
		}
		if len(f) == 8 {
			gb, found, err := quotaGB(f[7])
			switch {
			case err != nil:
				errs = append(errs, fmt.Sprintf("line %d (%s): %v", n, user, err))
				continue
			case found:
				c, ok := roundUp(gb)
				if !ok {
					errs = append(errs, fmt.Sprintf("line %d (%s): a quota of %s GB is above the largest capacity, 100 GB", n, user, fmtGB(gb)))
					continue
				}
				if c != gb {
					warnings = append(warnings, fmt.Sprintf("line %d (%s): quota %s GB rounded up to %s GB", n, user, fmtGB(gb), fmtGB(c)))
				}
				row[3] = fmtGB(c)
			}
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err.Error())
	}
	if weak {
		warnings = append(warnings, "some hashes use weak schemes ({MD5}, {SHA}, $1$, ...): start the job with allow_weak_hashes; those accounts must change their password at their next sign-in")
	}
	return rows, warnings, errs
}

// quotaGB reads userdb_quota_rule=*:storage=<size> from a line's extra fields.
func quotaGB(extra string) (gb float64, found bool, err error) {
	for _, field := range strings.Fields(extra) {
		rule, ok := strings.CutPrefix(field, "userdb_quota_rule=*:storage=")
		if !ok {
			continue
		}
		size := strings.TrimSuffix(strings.ToUpper(rule), "B")
		mult := 1.0 / (1 << 30)
		for suffix, m := range map[string]float64{"K": 1.0 / (1 << 20), "M": 1.0 / (1 << 10), "G": 1, "T": 1 << 10} {
			if strings.HasSuffix(size, suffix) {
				size, mult = strings.TrimSuffix(size, suffix), m
				break
			}
		}
		v, perr := strconv.ParseFloat(size, 64)
		if perr != nil || v < 0 {
			return 0, false, fmt.Errorf("quota %q is not a size", rule)
		}
		return v * mult, true, nil
	}
	return 0, false, nil
}

// roundUp is the smallest capacity at least gb.
func roundUp(gb float64) (float64, bool) {
	for _, c := range capacities {
		if gb <= c {
			return c, true
		}
	}
	return 0, false
}

func fmtGB(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
