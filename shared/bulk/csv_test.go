package bulk

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/policy"
)

func rules(mode string) Rules {
	p, _ := policy.Get("standard12")
	return Rules{Mode: mode, Domains: []string{"example.com"}, Preset: p, ActorRole: account.RoleOwner,
		Existing: map[string]account.ExistingAccount{"taro@example.com": {Role: account.RoleUser}, "hanako@example.com": {Role: account.RoleUser}, "boss@example.com": {Role: account.RoleAdmin}}}
}

func validate(t *testing.T, mode string, file []byte) Result {
	t.Helper()
	res, err := Validate(context.Background(), BytesSource(file), rules(mode))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func codes(res Result) string {
	var out []string
	for _, p := range res.Problems {
		out = append(out, fmt.Sprintf("%d:%s:%s", p.Line, p.Column, p.Code))
	}
	return strings.Join(out, " ")
}

func sjis(t *testing.T, s string) []byte {
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodingsAndLineEndings(t *testing.T) {
	body := "mail_account,password,mail_capacity\r\ntaro,Sakura-Mochi-42!,10\r\nhanako@example.com,,\r\n"
	for name, file := range map[string][]byte{
		"utf-8":         []byte(body),
		"utf-8 bom":     append([]byte{0xEF, 0xBB, 0xBF}, body...),
		"lf":            []byte(strings.ReplaceAll(body, "\r\n", "\n")),
		"shift_jis":     sjis(t, strings.Replace(body, "Sakura-Mochi-42!", "Sakura-Mochi-42!", 1)),
		"no final crlf": []byte(strings.TrimSuffix(body, "\r\n")),
	} {
		res := validate(t, "update", file)
		if res.ProblemsTotal != 0 || res.Rows != 2 || res.ToApply != 1 {
			t.Errorf("%s: rows %d apply %d problems %s", name, res.Rows, res.ToApply, codes(res))
		}
	}
	// A Japanese comment cell is not a column here; a Japanese password is, and Shift_JIS
	// decodes it to the same string as UTF-8 does.
	jp := "mail_account,password\r\ntaro,パスワード-Abc-12345\r\n"
	for _, file := range [][]byte{[]byte(jp), sjis(t, jp)} {
		rd, _, err := NewReader(bytes.NewReader(file), "update")
		if err != nil {
			t.Fatal(err)
		}
		row, _, _ := rd.Next()
		if row.Password != "パスワード-Abc-12345" {
			t.Errorf("%s: password %q", rd.Encoding, row.Password)
		}
	}
}

func TestQuotingAndAliases(t *testing.T) {
	file := "Quota_GB , LOGIN_ID,Password\n\"20\",\"taro\",\"Sakura,Mochi \"\"42\"\"!A\"\n"
	rd, problems, err := NewReader(strings.NewReader(file), "update")
	if err != nil || len(problems) > 0 {
		t.Fatalf("%v %v", problems, err)
	}
	row, problems, _ := rd.Next()
	if len(problems) > 0 || row.Account != "taro" || row.Password != `Sakura,Mochi "42"!A` || row.Capacity != 20 || row.Line != 2 {
		t.Fatalf("row %+v %v", row, problems)
	}
	// A quoted cell spanning two lines: the next row's line number follows the file.
	multi := "mail_account,mail_capacity\n\"ta\nro\",5\nhanako,x\n"
	res := validate(t, "update", []byte(multi))
	if codes(res) != "2:mail_account:invalid_account 4:mail_capacity:invalid_capacity" {
		t.Fatalf("multi-line: %s", codes(res))
	}
}

func TestEveryProblemCode(t *testing.T) {
	cases := []struct {
		name, mode, file, want string
	}{
		{"empty", "update", "", "1::empty_file"},
		{"header only", "update", "mail_account\n", "2::empty_file"},
		{"unknown column", "update", "mail_account,memo\n", "1:memo:unknown_column"},
		{"role", "update", "mail_account,role\ntaro,boss\n", "2:role:invalid_role"},
		{"comment", "update", "mail_account,comment\ntaro,\"a\u200bb\"\n", "2:comment:invalid_comment"},
		{"duplicate column", "update", "mail_account,login_id\n", "1:mail_account:duplicate_column"},
		{"missing account", "update", "password\nx\n", "1:mail_account:missing_column"},
		{"missing password in create", "create", "mail_account\nnew\n", "1:password:missing_column"},
		{"field count", "update", "mail_account,mail_capacity\ntaro,5,extra\nhanako,5\n", "2::field_count"},
		{"bare quote", "update", "mail_account\nta\"ro\nhanako\n", "2::csv_syntax"},
		{"required account", "update", "mail_account,mail_capacity\n,5\n", "2:mail_account:required"},
		{"invalid account", "update", "mail_account\nta ro\n", "2:mail_account:invalid_account"},
		{"other tenant", "update", "mail_account\ntaro@other.example\n", "2:mail_account:other_tenant"},
		{"duplicate", "update", "mail_account,mail_capacity\ntaro,5\nTARO@example.com,10\n", "3:mail_account:duplicate"},
		{"capacity", "update", "mail_account,mail_capacity\ntaro,3\nhanako,lots\n", "2:mail_capacity:invalid_capacity 3:mail_capacity:invalid_capacity"},
		{"policy", "update", "mail_account,password\ntaro,taro-short\n", "2:password:too_short 2:password:missing_upper 2:password:missing_digit 2:password:contains_account"},
		{"create without password", "create", "mail_account,password\nnew,\n", "2:password:required"},
		{"create existing", "create", "mail_account,password\ntaro,Sakura-Mochi-42!\n", "2:mail_account:exists"},
		{"cell too long", "update", "mail_account,password\ntaro," + strings.Repeat("a", MaxCellBytes+1) + "\n", "2:password:cell_too_long"},
		{"record too long", "update", "mail_account,mail_capacity\ntaro,5\nhanako," + strings.Repeat("9", 2*MaxRecordBytes) + "\njiro,5\n", "3::cell_too_long"},
		{"quoted record too long", "update", "mail_account,mail_capacity\ntaro,5\n\"" + strings.Repeat("a\n", MaxRecordBytes) + "\",5\n", "3::cell_too_long"},
		{"header too long", "update", strings.Repeat("x", 2*MaxRecordBytes) + "\n", "1::cell_too_long"},
	}
	for _, c := range cases {
		if got := codes(validate(t, c.mode, []byte(c.file))); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestUnknownAccountsAreSkippedInUpdateMode(t *testing.T) {
	res := validate(t, "update", []byte("mail_account,mail_capacity\ntaro,5\nghost,5\nghost2@example.com,10\n"))
	if res.ProblemsTotal != 0 || res.SkippedTotal != 2 || strings.Join(res.Skipped, ",") != "ghost@example.com,ghost2@example.com" || res.ToApply != 1 {
		t.Fatalf("%+v", res)
	}
}

func TestAdminMayNotChangeAdmins(t *testing.T) {
	r := rules("update")
	r.ActorRole = account.RoleAdmin
	res, _ := Validate(context.Background(), BytesSource([]byte("mail_account,mail_capacity\ntaro,5\nboss,5\n")), r)
	if codes(res) != "3:mail_account:forbidden" {
		t.Fatalf("%s", codes(res))
	}
}

func TestProblemsAreCappedAndCounted(t *testing.T) {
	var b strings.Builder
	b.WriteString("mail_account,mail_capacity\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "user%d,7\n", i)
	}
	res := validate(t, "update", []byte(b.String()))
	if len(res.Problems) != MaxProblems || res.ProblemsTotal != 1000 {
		t.Fatalf("%d listed, %d total", len(res.Problems), res.ProblemsTotal)
	}
}

func TestShiftJISDetectedPastTheFirstBlock(t *testing.T) {
	// 70 KiB of ASCII rows, then Shift_JIS: the first 64 KiB look like UTF-8, so the file
	// is read as UTF-8 and the later row is reported, not silently misread.
	var b strings.Builder
	b.WriteString("mail_account,password\n")
	for i := 0; b.Len() < 70<<10; i++ {
		fmt.Fprintf(&b, "ghost%d,\n", i)
	}
	file := append([]byte(b.String()), sjis(t, "taro,パスワードAbc-1\n")...)
	res := validate(t, "update", file)
	if res.ProblemsTotal != 1 || res.Problems[0].Code != CodeEncoding {
		t.Fatalf("%s", codes(res))
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("mail_account,password,mail_capacity\r\ntaro,Abc-12345678,10\r\n"), true)
	f.Add([]byte("\xef\xbb\xbfmail_account\n\"a\"\"b\",\n"), false)
	f.Add(sjisBytes("mail_account,password\nテスト,パス\n"), false)
	f.Fuzz(func(t *testing.T, file []byte, create bool) {
		mode := "update"
		if create {
			mode = "create"
		}
		res, err := Validate(context.Background(), BytesSource(file), rules(mode))
		if err != nil {
			t.Fatalf("error instead of problems: %v", err)
		}
		if len(res.Problems) > MaxProblems || res.ProblemsTotal < len(res.Problems) || res.ToApply > res.Rows {
			t.Fatalf("inconsistent result %+v", res)
		}
		for _, p := range res.Problems {
			if p.Line < 1 || p.Code == "" {
				t.Fatalf("problem without line or code: %+v", p)
			}
		}
	})
}

func sjisBytes(s string) []byte {
	b, _ := japanese.ShiftJIS.NewEncoder().Bytes([]byte(s))
	return b
}

// The review's CSV bomb: one 200 MB cell took the server from 0.6 to 1.3 GB. A cell of
// any size is refused after MaxRecordBytes, and memory stays flat.
func TestAHugeCellKeepsMemoryFlat(t *testing.T) {
	const size = 64 << 20
	huge := io.MultiReader(strings.NewReader("mail_account,password\ntaro,"), &repeat{b: 'a', n: size}, strings.NewReader("\n"))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := Validate(context.Background(), func(context.Context) (io.ReadCloser, error) { return io.NopCloser(huge), nil }, rules("update"))
	runtime.ReadMemStats(&after)
	if err != nil || codes(res) != "2::cell_too_long" {
		t.Fatalf("%s %v", codes(res), err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Fatalf("reading a %d MiB cell allocated %d MiB", size>>20, grew>>20)
	}
}

// repeat reads as n copies of b.
type repeat struct {
	b byte
	n int
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

// Third security review (issue 23): a byte that does not decode in a Shift_JIS file
// became U+FFFD inside a password instead of an error at its line.
func TestShiftJISByteThatDoesNotDecodeIsAnErrorAtItsLine(t *testing.T) {
	file := sjis(t, "mail_account,password\r\ntaro,パスワード-Abc-12345\r\nhanako@example.com,")
	file = append(file, []byte("Sakura-\x81\x7fMochi-42!\r\n")...) // 0x81 0x7F: a lead byte without a trail
	rd, problems, err := NewReader(bytes.NewReader(file), "update")
	if err != nil || len(problems) > 0 || rd.Encoding != "shift_jis" {
		t.Fatalf("reader: %v %v %s", problems, err, rd.Encoding)
	}
	if row, problems, _ := rd.Next(); len(problems) != 0 || row.Password != "パスワード-Abc-12345" {
		t.Fatalf("line 2: %q %v", row.Password, problems)
	}
	row, problems, _ := rd.Next()
	if len(problems) != 1 || problems[0].Line != 3 || problems[0].Column != ColPassword || problems[0].Code != CodeEncoding {
		t.Fatalf("line 3: %+v", problems)
	}
	if strings.ContainsRune(row.Password, '\uFFFD') {
		t.Fatalf("a password kept U+FFFD: %q", row.Password)
	}
	res := validate(t, "update", file)
	if !strings.Contains(codes(res), "3:password:"+CodeEncoding) {
		t.Fatalf("validation: %s", codes(res))
	}
}

// Third security review (issue 23): an export cell that really starts with "'=" lost
// its apostrophe on the way back in. The export writes a leading apostrophe before an
// apostrophe too, and the import takes exactly one back.
func TestExportedCellsComeBackAsTheyWere(t *testing.T) {
	for _, v := range []string{"'=1+1", "=HYPERLINK(\"x\")", "'quoted'", "''", "+81 3", "-", "@home", "plain", "経理部", "'"} {
		file := "mail_account,comment\r\ntaro@example.com," + csvQuote(Defuse(v)) + "\r\n"
		rd, problems, err := NewReader(strings.NewReader(file), "update")
		if err != nil || len(problems) > 0 {
			t.Fatalf("%q: %v %v", v, problems, err)
		}
		row, problems, _ := rd.Next()
		if len(problems) > 0 || row.Comment != v {
			t.Errorf("%q came back as %q (written %q)", v, row.Comment, Defuse(v))
		}
	}
}

func csvQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// In create mode an address in a domain another tenant verified is that tenant's: the row
// is a problem (the file is rejected, nothing is created). Update mode never asks.
func TestCreateInAnotherTenantsDomainIsAProblem(t *testing.T) {
	asked := 0
	r := rules("create")
	r.Domains = nil // a tenant that takes any address
	r.HeldElsewhere = func(domain string) bool { asked++; return domain == "held.example" }
	res, err := Validate(context.Background(), BytesSource([]byte("login_id,password\nhana@held.example,Atarashii-Pass-1!\nhana@free.example,Atarashii-Pass-2!\n")), r)
	if err != nil || codes(res) != "2:mail_account:other_tenant" || asked != 2 {
		t.Fatalf("create: %s (asked %d) %v", codes(res), asked, err)
	}
	r.Mode, asked = "update", 0
	if res, _ := Validate(context.Background(), BytesSource([]byte("login_id,mail_capacity\nhana@held.example,5\n")), r); res.ProblemsTotal != 0 || asked != 0 {
		t.Fatalf("update: %s (asked %d)", codes(res), asked)
	}
}
