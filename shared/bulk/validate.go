package bulk

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/password"
	"github.com/kagiya/kagiya/shared/policy"
)

// Report caps: a file with a million bad rows still makes a readable job document.
const (
	MaxProblems = 100
	MaxSkipped  = 500
)

// Rules are what a file is checked against.
type Rules struct {
	Mode      string   // "update" or "create"
	Domains   []string // the tenant's domains: the first is added to bare account names
	Preset    policy.Preset
	ActorRole account.Role
	ActorKey  string                             // the uploader's login key
	Existing  map[string]account.ExistingAccount // the tenant's accounts by login key
	// AllowWeakHashes lets unsalted or broken imported hashes in (the job's
	// allow_weak_hashes); those accounts must change their password at once.
	AllowWeakHashes bool
	// Invite: in create mode a row without a password or hash is an invitation.
	Invite bool
	// HeldElsewhere reports whether another tenant holds a domain (verified it): in create
	// mode an address there is the other tenant's. Nil: no domain is held.
	HeldElsewhere func(domain string) bool
	// IdPDomains are the domains the tenant's identity providers serve: only there may a
	// row make an account of login_method idp.
	IdPDomains map[string]bool
}

// Result is what validation found.
type Result struct {
	Encoding      string
	Rows          int      // data rows
	ToApply       int      // rows that will change an account
	Skipped       []string // update mode: accounts that do not exist (first MaxSkipped)
	SkippedTotal  int
	Problems      []Problem // first MaxProblems
	ProblemsTotal int
}

func (r *Result) problem(p Problem) {
	r.ProblemsTotal++
	if len(r.Problems) < MaxProblems {
		r.Problems = append(r.Problems, p)
	}
}

// LoginID returns the full login ID of an account cell: a bare name gets the tenant's
// first domain (a tenant without domains takes full addresses only); a full address must
// be in one of the tenant's domains, if it has any.
func LoginID(cell string, domains []string) (string, string) {
	id := cell
	if !strings.Contains(cell, "@") {
		if len(domains) == 0 {
			return "", CodeInvalidAccount
		}
		id = cell + "@" + domains[0]
	}
	domain, ok := account.ParseLoginID(id)
	switch {
	case !ok:
		return "", CodeInvalidAccount
	case !(account.Tenant{Domains: domains}).Allows(domain):
		return "", CodeOtherTenant
	}
	return id, ""
}

// Source opens the file from its start. Validation reads it once, and a second time only
// when two rows may name the same account (dupes.go).
type Source func(ctx context.Context) (io.ReadCloser, error)

// BytesSource is the Source of a file held in memory.
func BytesSource(b []byte) Source {
	return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// Validate reads the whole file, in constant memory apart from one 8-byte word per
// account (for duplicates, dupes.go), and reports every problem. Nothing is changed.
func Validate(ctx context.Context, src Source, rules Rules) (Result, error) {
	return validateWith(ctx, src, rules, newAccountSet())
}

func validateWith(ctx context.Context, src Source, rules Rules, seen *accountSet) (Result, error) {
	file, err := src(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("open: %w", err)
	}
	defer file.Close()
	rd, headerProblems, err := newReader(file, rules.Mode, rules.Invite)
	if err != nil {
		return Result{}, err
	}
	var res Result
	for _, p := range headerProblems {
		res.problem(p)
	}
	if rd == nil {
		return res, nil
	}
	res.Encoding = rd.Encoding
	var suspects []int32 // lines held back for the second pass, in order
	for {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		row, problems, err := rd.Next()
		for _, p := range problems {
			res.problem(p)
		}
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return Result{}, err
		}
		res.Rows++
		if row.Broken {
			continue
		}
		id, key, code := accountKey(row, rules)
		switch {
		case code != "":
			res.problem(Problem{Line: row.Line, Column: ColAccount, Code: code})
		case seen.add(key):
			suspects = append(suspects, int32(row.Line))
		case checkRow(row, id, key, rules, &res):
			res.ToApply++
		}
	}
	if len(suspects) > 0 {
		if err := secondPass(ctx, src, rules, seen, suspects, &res); err != nil {
			return Result{}, err
		}
	}
	if res.Rows == 0 && res.ProblemsTotal == 0 {
		res.problem(Problem{Line: 2, Code: CodeEmpty})
	}
	return res, nil
}

// secondPass reads the file again and decides the suspects exactly: a suspect whose login
// key an earlier row had is a duplicate of that row; any other (a hash collision) gets the
// checks every row gets. What it finds joins res in line order.
func secondPass(ctx context.Context, src Source, rules Rules, seen *accountSet, suspects []int32, res *Result) error {
	file, err := src(ctx)
	if err != nil {
		return fmt.Errorf("open again: %w", err)
	}
	defer file.Close()
	rd, _, err := newReader(file, rules.Mode, rules.Invite)
	if err != nil || rd == nil {
		return fmt.Errorf("read again: %w", err)
	}
	var late Result
	first := map[string]int{} // login key -> its first line, for flagged hashes only
	for next := 0; next < len(suspects); {
		if err := ctx.Err(); err != nil {
			return err
		}
		row, _, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("read again: the file ended before line %d", suspects[next])
		} else if err != nil {
			return fmt.Errorf("read again: %w", err)
		}
		if row.Broken {
			continue
		}
		id, key, code := accountKey(row, rules)
		if code != "" || !seen.flagged(key) {
			continue
		}
		suspect := row.Line == int(suspects[next])
		if suspect {
			next++
		}
		if line, dup := first[key]; dup {
			late.problem(Problem{Line: row.Line, Column: ColAccount, Code: CodeDuplicate, Message: fmt.Sprintf("line %d", line)})
			continue
		}
		first[key] = row.Line
		if suspect && checkRow(row, id, key, rules, &late) {
			res.ToApply++
		}
	}
	res.Problems = append(res.Problems, late.Problems...)
	slices.SortStableFunc(res.Problems, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	res.Problems = res.Problems[:min(len(res.Problems), MaxProblems)]
	res.ProblemsTotal += late.ProblemsTotal
	res.Skipped = append(res.Skipped, late.Skipped...)[:min(len(res.Skipped)+len(late.Skipped), MaxSkipped)]
	res.SkippedTotal += late.SkippedTotal
	return nil
}

// accountKey returns a row's login ID and key, or the code of what is wrong with its
// account cell.
func accountKey(row Row, rules Rules) (id, key, code string) {
	if row.Account == "" {
		return "", "", CodeRequired
	}
	id, code = LoginID(row.Account, rules.Domains)
	if code != "" {
		return "", "", code
	}
	if rules.Mode == "create" && rules.HeldElsewhere != nil {
		if domain, _ := account.ParseLoginID(id); rules.HeldElsewhere(domain) {
			return "", "", CodeOtherTenant
		}
	}
	return id, account.Key(id), ""
}

// checkRow checks a row whose account cell is valid and not a duplicate against the rules
// and reports whether it would change an account.
func checkRow(row Row, id, key string, rules Rules, res *Result) bool {
	if row.HasCapacity && !account.ValidQuota(row.Capacity) {
		res.problem(Problem{Line: row.Line, Column: ColCapacity, Code: CodeInvalidCapacity})
	}
	switch {
	case rules.Mode == "create" && !row.HasPassword && !row.HasHash && !rules.Invite && row.Method != account.LoginMethodIdP:
		res.problem(Problem{Line: row.Line, Column: ColPassword, Code: CodeRequired})
	case row.HasPassword && row.HasHash:
		res.problem(Problem{Line: row.Line, Column: ColHash, Code: CodePasswordAndHash})
	case row.HasHash:
		if _, err := password.ParseImported(row.Hash, rules.AllowWeakHashes); err != nil {
			res.problem(hashProblem(row.Line, err))
		}
	}
	if row.HasPassword {
		for _, c := range rules.Preset.Check(policy.Input{Password: row.Password, LoginID: id}) {
			res.problem(Problem{Line: row.Line, Column: ColPassword, Code: c})
		}
	}
	role := account.Role(strings.ToLower(row.Role))
	switch {
	case row.Role != "" && !role.Valid():
		res.problem(Problem{Line: row.Line, Column: ColRole, Code: CodeInvalidRole})
	case row.Role != "" && !(rules.ActorRole == account.RoleOwner || role == account.RoleUser):
		res.problem(Problem{Line: row.Line, Column: ColRole, Code: CodeForbidden})
	}
	if row.HasComment {
		if code := account.CommentProblem(row.Comment); code != "" {
			res.problem(Problem{Line: row.Line, Column: ColComment, Code: CodeInvalidComment})
		}
	}
	ex, exists := rules.Existing[key]
	idp := row.Method == account.LoginMethodIdP || row.Method == "" && exists && ex.IdP
	switch {
	case row.Method != "" && row.Method != account.LoginMethodPassword && row.Method != account.LoginMethodIdP:
		res.problem(Problem{Line: row.Line, Column: ColMethod, Code: CodeInvalidMethod})
	case !idp:
	case row.HasPassword || row.HasHash:
		res.problem(Problem{Line: row.Line, Column: ColMethod, Code: CodeInvalidMethod}) // no Kagiya password
	case row.Method == account.LoginMethodIdP && !(exists && ex.IdP) && !rules.IdPDomains[domainOf(id)]:
		// Moving to a provider needs one; an idp account's own row (an export uploaded
		// back) is as the account is, even when its provider has gone since.
		res.problem(Problem{Line: row.Line, Column: ColMethod, Code: CodeNoProvider})
	case row.Role != "" && role != account.RoleUser || row.Role == "" && exists && ex.Role != account.RoleUser:
		res.problem(Problem{Line: row.Line, Column: ColMethod, Code: CodeMethodRole})
	}
	switch {
	case rules.Mode == "create" && exists:
		res.problem(Problem{Line: row.Line, Column: ColAccount, Code: CodeExists})
		return false
	case rules.Mode == "update" && !exists:
		res.SkippedTotal++
		if len(res.Skipped) < MaxSkipped {
			res.Skipped = append(res.Skipped, id)
		}
		return false
	case rules.Mode == "update" && !Changes(row, ex):
		return false // as the account is (an exported file uploaded again): nothing to do, nothing to check
	case exists && !(rules.ActorRole == account.RoleOwner || rules.ActorRole == account.RoleAdmin && ex.Role == account.RoleUser):
		res.problem(Problem{Line: row.Line, Column: ColAccount, Code: CodeForbidden})
		return false
	case exists && key == rules.ActorKey && row.Role != "" && role != ex.Role:
		res.problem(Problem{Line: row.Line, Column: ColRole, Code: CodeForbidden})
		return false
	}
	return true
}

// Changes reports whether an update row changes the account it names, as it is now.
func Changes(row Row, ex account.ExistingAccount) bool {
	return row.HasPassword || row.HasHash ||
		row.HasCapacity && row.Capacity != ex.QuotaGB ||
		row.Role != "" && account.Role(strings.ToLower(row.Role)) != ex.Role ||
		row.HasComment && account.CommentHash(row.Comment) != ex.CommentHash ||
		row.Method != "" && (row.Method == account.LoginMethodIdP) != ex.IdP
}

// domainOf is the lower-case domain of a login ID.
func domainOf(id string) string {
	domain, _ := account.ParseLoginID(id)
	return domain
}

// hashProblem is the row error of an imported hash Kagiya does not take.
func hashProblem(line int, err error) Problem {
	p := Problem{Line: line, Column: ColHash, Code: "hash_malformed"}
	var ce *password.CostError
	switch {
	case errors.As(err, &ce):
		p.Code, p.Message = "hash_cost", "above "+ce.Limit
	case errors.Is(err, password.ErrHashPlaintext):
		p.Code = "hash_plaintext"
	case errors.Is(err, password.ErrHashWeak):
		p.Code = "hash_weak"
	case errors.Is(err, password.ErrHashUnsupported):
		p.Code = "hash_unsupported"
	}
	return p
}
