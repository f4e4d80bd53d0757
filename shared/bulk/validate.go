package bulk

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
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

// Validate reads the whole file once, in constant memory apart from one 8-byte hash per
// account seen (for duplicates), and reports every problem. Nothing is changed.
func Validate(ctx context.Context, file io.Reader, rules Rules) (Result, error) {
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
	seen := map[uint64]int32{}
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
		if !row.Broken && checkRow(row, rules, seen, &res) {
			res.ToApply++
		}
	}
	if res.Rows == 0 && res.ProblemsTotal == 0 {
		res.problem(Problem{Line: 2, Code: CodeEmpty})
	}
	return res, nil
}

// checkRow checks one row against the rules and reports whether it would change an account.
func checkRow(row Row, rules Rules, seen map[uint64]int32, res *Result) bool {
	if row.Account == "" {
		res.problem(Problem{Line: row.Line, Column: ColAccount, Code: CodeRequired})
		return false
	}
	id, code := LoginID(row.Account, rules.Domains)
	if code != "" {
		res.problem(Problem{Line: row.Line, Column: ColAccount, Code: code})
		return false
	}
	if rules.Mode == "create" && rules.HeldElsewhere != nil {
		if domain, _ := account.ParseLoginID(id); rules.HeldElsewhere(domain) {
			res.problem(Problem{Line: row.Line, Column: ColAccount, Code: CodeOtherTenant})
			return false
		}
	}
	key := account.Key(id)
	h := fnv.New64a()
	h.Write([]byte(key))
	if first, dup := seen[h.Sum64()]; dup {
		res.problem(Problem{Line: row.Line, Column: ColAccount, Code: CodeDuplicate, Message: fmt.Sprintf("line %d", first)})
		return false
	}
	seen[h.Sum64()] = int32(row.Line)
	if row.HasCapacity && !account.ValidQuota(row.Capacity) {
		res.problem(Problem{Line: row.Line, Column: ColCapacity, Code: CodeInvalidCapacity})
	}
	switch {
	case rules.Mode == "create" && !row.HasPassword && !row.HasHash && !rules.Invite:
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
		row.HasComment && account.CommentHash(row.Comment) != ex.CommentHash
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
