// Package bulk reads the administrators' CSV files (UTF-8 with or without BOM, or
// Shift_JIS/CP932 as Excel saves it in Japan), checks every cell, and applies a checked
// file to the accounts: all of it, or, if anything anywhere is wrong, nothing.
package bulk

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"github.com/kagiya/kagiya/shared/account"
)

// Columns, by their canonical names.
const (
	ColAccount  = "mail_account"
	ColPassword = "password"
	ColHash     = "password_hash"
	ColCapacity = "mail_capacity"
	ColRole     = "role"
	ColComment  = "comment"
	ColMethod   = "login_method" // password or idp
	colReadOnly = ""             // the export's read-only columns: read and ignored
)

// ExportHeader is the accounts export's header: a valid update file as it is (role,
// capacity, comment and login_method are applied; state, the dates and the words are
// read-only and ignored).
var ExportHeader = []string{ColAccount, ColRole, ColCapacity, ColComment, ColMethod, "state", "last_login_at", "created_at",
	ColRoleLabel, ColStateLabel, ColMethodLabel}

// exportZone is the tenants' time zone (Japan's), in which the export gives its times,
// with the offset, as the audit export does.
var exportZone = time.FixedZone("JST", 9*3600)

// ExportRow is a's row of the accounts export, under ExportHeader: states are its states
// as the account list shows them (the state column space-separates them), and the role,
// states and login method are given again in the words of lang. Cells a person types are
// defused.
func ExportRow(a account.Account, states []string, lang string) []string {
	method := account.LoginMethodPassword
	if a.UsesIdP() {
		method = account.LoginMethodIdP
	}
	last := ""
	if !a.LastLoginAt.IsZero() {
		last = a.LastLoginAt.In(exportZone).Format(time.RFC3339)
	}
	return []string{Defuse(a.LoginID), string(a.Role), strconv.Itoa(a.QuotaGB), Defuse(a.Comment), method,
		strings.Join(states, " "), last, a.CreatedAt.In(exportZone).Format(time.RFC3339),
		ExportWord(lang, string(a.Role)), ExportStates(lang, states), ExportWord(lang, method)}
}

// aliases maps every accepted header name (lower-case) to its column.
var aliases = map[string]string{
	"mail_account": ColAccount, "login_id": ColAccount,
	"password":      ColPassword,
	"password_hash": ColHash,
	"mail_capacity": ColCapacity, "quota_gb": ColCapacity,
	"role": ColRole, "comment": ColComment, "login_method": ColMethod,
	// Read-only columns of the export, this one's and earlier ones'.
	"state": colReadOnly, "last_login_at": colReadOnly, "created_at": colReadOnly,
	ColRoleLabel: colReadOnly, ColStateLabel: colReadOnly, ColMethodLabel: colReadOnly,
	"locked": colReadOnly, "force_change": colReadOnly, "password_expired": colReadOnly,
}

// Limits of a file.
const (
	MaxCellBytes = 1024
	// MaxRecordBytes bounds what is read for one record, so a huge cell cannot make the
	// CSV reader hold it whole: the file is rejected at that line instead.
	MaxRecordBytes = 64 << 10
	MaxRows        = 1_000_000
)

// Problem codes.
const (
	CodeEncoding        = "encoding"
	CodeSyntax          = "csv_syntax"
	CodeFieldCount      = "field_count"
	CodeEmpty           = "empty_file"
	CodeUnknownColumn   = "unknown_column"
	CodeDuplicateColumn = "duplicate_column"
	CodeMissingColumn   = "missing_column"
	CodeCellTooLong     = "cell_too_long"
	CodeRequired        = "required"
	CodeInvalidAccount  = "invalid_account"
	CodeOtherTenant     = "other_tenant"
	CodeDuplicate       = "duplicate"
	CodeInvalidCapacity = "invalid_capacity"
	CodeExists          = "exists"
	CodeForbidden       = "forbidden"
	CodeTooManyRows     = "too_many_rows"
	CodePasswordAndHash = "password_and_hash" // a row gives both a password and a hash
	CodeInvalidRole     = "invalid_role"
	// login_method: not password or idp; idp for a domain without the tenant's identity
	// provider, for an administrator, or with a password.
	CodeInvalidMethod  = "invalid_login_method"
	CodeNoProvider     = "no_provider"
	CodeMethodRole     = "login_method_role"
	CodeInvalidComment = "invalid_comment"
	// Imported-hash codes (password.ErrHash*): hash_malformed, hash_plaintext, hash_weak,
	// hash_unsupported, hash_cost.
	// Password rule codes (too_short, missing_upper, ...) are reported as they are.
)

// Problem is one thing wrong with a file: Line is the 1-based line of the file (the
// header is 1), Column the canonical column name.
type Problem struct {
	Line    int    `json:"line"`
	Column  string `json:"column"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Row is one data row. Has* say whether the cell was there and not empty.
type Row struct {
	Line        int
	Account     string // as written
	Password    string
	HasPassword bool
	Hash        string // password_hash: an imported hash
	HasHash     bool
	Capacity    int
	HasCapacity bool
	Role        string // the role column, as written
	Comment     string
	HasComment  bool
	Method      string // the login_method column, as written ("" leaves it)
	Broken      bool   // the CSV reader could not split this record; nothing else to check
}

// Reader streams the rows of a file.
type Reader struct {
	csv      *csv.Reader
	limit    *boundedReader
	lastLine int
	col      map[string]int // canonical column -> index
	Encoding string         // "utf-8", "utf-8-bom" or "shift_jis"
	rows     int
}

// NewReader detects the encoding, reads the header and returns a Reader positioned on the
// first data row. Header problems come back as problems (with a nil Reader).
func NewReader(r io.Reader, mode string) (*Reader, []Problem, error) {
	return newReader(r, mode, false)
}

// newReader is NewReader; a create job that invites (invite) needs no password column.
func newReader(r io.Reader, mode string, invite bool) (*Reader, []Problem, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, nil, fmt.Errorf("read file: %w", err)
	}
	var src io.Reader = br
	enc := "utf-8"
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3) //nolint:errcheck // peeked already
		enc = "utf-8-bom"
	case !validUTF8Prefix(head):
		src = transform.NewReader(br, japanese.ShiftJIS.NewDecoder())
		enc = "shift_jis"
	}
	limit := &boundedReader{r: src}
	cr := csv.NewReader(limit)
	cr.ReuseRecord = true
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, []Problem{{Line: 1, Code: CodeEmpty}}, nil
	case errors.Is(err, errRecordTooLong):
		return nil, []Problem{{Line: 1, Code: CodeCellTooLong}}, nil
	case err != nil:
		return nil, []Problem{{Line: 1, Code: CodeSyntax, Message: csvMessage(err)}}, nil
	}
	rd := &Reader{csv: cr, limit: limit, lastLine: 1, col: map[string]int{}, Encoding: enc}
	var problems []Problem
	for i, name := range header {
		key := strings.ToLower(strings.TrimSpace(name))
		canon, ok := aliases[key]
		switch {
		case !ok:
			problems = append(problems, Problem{Line: 1, Column: name, Code: CodeUnknownColumn})
		case canon == colReadOnly:
		case hasCol(rd.col, canon):
			problems = append(problems, Problem{Line: 1, Column: canon, Code: CodeDuplicateColumn})
		default:
			rd.col[canon] = i
		}
	}
	required := []string{ColAccount}
	if mode == "create" && !hasCol(rd.col, ColHash) && !hasCol(rd.col, ColMethod) && !invite {
		required = append(required, ColPassword) // or password_hash (or login_method, whose idp rows have none; the others are checked row by row)
	}
	for _, c := range required {
		if !hasCol(rd.col, c) {
			problems = append(problems, Problem{Line: 1, Column: c, Code: CodeMissingColumn})
		}
	}
	if len(problems) > 0 {
		return nil, problems, nil
	}
	return rd, nil, nil
}

func hasCol(m map[string]int, c string) bool { _, ok := m[c]; return ok }

// errRecordTooLong ends the reading of a record longer than MaxRecordBytes.
var errRecordTooLong = errors.New("record too long")

// boundedReader refuses to give the CSV reader more than MaxRecordBytes between two
// resets (one a record), so memory stays flat whatever a file holds.
type boundedReader struct {
	r io.Reader
	n int
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.n >= MaxRecordBytes {
		return 0, errRecordTooLong
	}
	if len(p) > MaxRecordBytes-b.n {
		p = p[:MaxRecordBytes-b.n]
	}
	n, err := b.r.Read(p)
	b.n += n
	return n, err
}

// validUTF8Prefix is utf8.Valid, forgiving a rune cut off at the end of the peeked bytes.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		if len(b) < 64<<10 { // the whole file was peeked: nothing was cut off
			return false
		}
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "unreadable"
}

// Next returns the next row, with the problems of its cells (syntax, sizes, capacity).
// It returns io.EOF after the last row.
//
// A record longer than MaxRecordBytes is reported as cell_too_long at the line after the
// last good record, and ends the file (nothing after it can be read reliably).
func (r *Reader) Next() (Row, []Problem, error) {
	r.limit.n = 0
	rec, err := r.csv.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return Row{}, nil, io.EOF
	case errors.Is(err, errRecordTooLong):
		line := r.lastLine + 1
		return Row{Line: line, Broken: true}, []Problem{{Line: line, Code: CodeCellTooLong}}, io.EOF
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
		return Row{Line: pe.StartLine, Broken: true}, []Problem{{Line: pe.StartLine, Code: CodeFieldCount}}, nil
	case errors.As(err, &pe):
		return Row{Line: pe.StartLine, Broken: true}, []Problem{{Line: pe.StartLine, Code: CodeSyntax, Message: csvMessage(err)}}, nil
	case err != nil:
		return Row{}, nil, fmt.Errorf("read row: %w", err)
	}
	line, _ := r.csv.FieldPos(0)
	r.lastLine, _ = r.csv.FieldPos(len(rec) - 1)
	r.rows++
	if r.rows > MaxRows {
		return Row{Line: line}, []Problem{{Line: line, Code: CodeTooManyRows}}, io.EOF
	}
	row := Row{Line: line}
	var problems []Problem
	cell := func(col string) (string, bool) {
		i, ok := r.col[col]
		if !ok {
			return "", false
		}
		v := rec[i]
		switch {
		case !utf8.ValidString(v), r.Encoding == "shift_jis" && strings.ContainsRune(v, utf8.RuneError):
			// A Shift_JIS byte that does not decode comes out of the decoder as U+FFFD,
			// which Shift_JIS itself cannot hold: the cell is refused at its line rather
			// than kept (inside a password) with a character nobody typed.
			problems = append(problems, Problem{Line: line, Column: col, Code: CodeEncoding})
			return "", false
		case len(v) > MaxCellBytes:
			problems = append(problems, Problem{Line: line, Column: col, Code: CodeCellTooLong})
			return "", false
		}
		return v, v != ""
	}
	row.Account, _ = cell(ColAccount)
	row.Account = undefuse(strings.TrimSpace(row.Account))
	row.Password, row.HasPassword = cell(ColPassword)
	row.Hash, row.HasHash = cell(ColHash)
	row.Role, _ = cell(ColRole)
	row.Role = strings.TrimSpace(row.Role)
	row.Comment, row.HasComment = cell(ColComment)
	row.Comment = undefuse(row.Comment)
	row.Method, _ = cell(ColMethod)
	row.Method = strings.ToLower(strings.TrimSpace(row.Method))
	if c, ok := cell(ColCapacity); ok && strings.TrimSpace(c) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		row.Capacity, row.HasCapacity = n, true
		if err != nil {
			problems = append(problems, Problem{Line: line, Column: ColCapacity, Code: CodeInvalidCapacity})
		}
	}
	return row, problems, nil
}

// defused are the first characters of a cell the export writes after an apostrophe:
// those a spreadsheet reads as a formula (=, +, -, @, tab, CR), and the apostrophe
// itself, so that a cell that really starts with one ("'=") comes back as it was.
const defused = "=+-@\t\r'"

// Defuse is how the exports write a cell: with a leading apostrophe before a formula
// (Excel then shows it as text) or before an apostrophe.
func Defuse(v string) string {
	if v != "" && strings.ContainsRune(defused, rune(v[0])) {
		return "'" + v
	}
	return v
}

// undefuse takes back the apostrophe Defuse put there, so an exported file uploads as
// it was.
func undefuse(v string) string {
	if len(v) > 1 && v[0] == '\'' && strings.ContainsRune(defused, rune(v[1])) {
		return v[1:]
	}
	return v
}
