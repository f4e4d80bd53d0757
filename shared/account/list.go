package account

import (
	"slices"
	"strings"
	"time"
)

// The account list (GET /api/admin/accounts): filters by state, role and a part of the
// login ID or comment; three orders; pages with an opaque cursor; the total the filter
// matches. Both stores order accounts by the same sort keys (SortKey), so a cursor means
// the same thing on each.

// Account states the list filters by (docs/api.md).
const (
	StateLocked      = "locked"
	StateExpired     = "expired"
	StateForceChange = "force_change"
	StateDisabled    = "disabled"
	StateInvited     = "invited"
	StateMFALocked   = "mfa_locked"
	StateMFAEnabled  = "mfa_enabled" // an addition: accounts with a second factor
	StateLegacyHash  = "legacy_hash" // an addition: an imported hash not yet replaced
	// StateConfirmationLocked: the separate confirmation password is locked (the
	// bank manual's 確認用パスワード利用停止).
	StateConfirmationLocked = "confirmation_locked"
)

// States are the filterable states, in the order the site shows them.
var States = []string{StateLocked, StateExpired, StateForceChange, StateDisabled, StateInvited, StateMFALocked, StateConfirmationLocked, StateMFAEnabled, StateLegacyHash}

// List orders.
const (
	SortLoginID   = "login_id"
	SortLastLogin = "last_login_at" // by the week of the last sign-in (UTC, from Monday), then account ID
	SortCreated   = "created_at"
)

// ListQuery selects and orders a page of a tenant's accounts.
type ListQuery struct {
	Contains string // a part of the login ID or the comment, any case; empty: all
	State    string // one of States, or empty
	Role     Role   // one role, or empty
	Sort     string // SortLoginID (default), SortLastLogin or SortCreated
	Desc     bool
	Limit    int    // 0: every account
	After    string // the cursor of the previous page: its last account's sort key
	// MaxAgeDays and Now decide StateExpired (the tenant's max_age_days, the time).
	MaxAgeDays int
	Now        time.Time
	WithTotal  bool // also count every account the query matches
}

// AccountPage is one page of a list.
type AccountPage struct {
	Accounts []Account
	Next     string // the cursor of the next page; "" at the end
	Total    int    // with WithTotal: every account the query matches
}

// HasState reports whether a is in state (a state of States) under q's time and maximum age.
func (q ListQuery) HasState(a Account, state string) bool {
	switch state {
	case StateLocked:
		return a.Locked()
	case StateExpired:
		exp := PasswordExpiresAt(a, Settings{MaxAgeDays: q.MaxAgeDays})
		return !exp.IsZero() && !q.Now.Before(exp)
	case StateForceChange:
		return a.ForceChange
	case StateDisabled:
		return a.Disabled
	case StateInvited:
		return a.Invited()
	case StateMFALocked:
		return a.MFALocked()
	case StateConfirmationLocked:
		return a.ConfirmationLocked()
	case StateMFAEnabled:
		return a.MFAEnabled()
	case StateLegacyHash:
		return a.PasswordHash != "" && !strings.HasPrefix(a.PasswordHash, "$argon2id$")
	}
	return false
}

// Matches reports whether a passes q's filters (not its cursor).
func (q ListQuery) Matches(a Account) bool {
	if q.State != "" && !q.HasState(a, q.State) || q.Role != "" && a.Role != q.Role {
		return false
	}
	needle := strings.ToLower(q.Contains)
	return needle == "" || strings.Contains(a.Key(), needle) || strings.Contains(strings.ToLower(a.Comment), needle)
}

// TimeKey is a time as a sort key: fixed width, so keys sort as times do.
func TimeKey(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

// LastLoginWeek is the sort key part of a last sign-in: the Monday (UTC) of its week, as
// a date, or "0" for never (so accounts that never signed in come first in ascending
// order). Keyed by the week, an account's entry in the last-sign-in index moves at most
// once a week, however often it signs in; tables written when the key was the day keep
// their day keys until the account next signs in, and a day sorts within its own week.
func LastLoginWeek(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	t = t.UTC()
	return t.AddDate(0, 0, -(int(t.Weekday())+6)%7).Format("2006-01-02")
}

// SortKey is a's key in the order sort: unique within a tenant. (The last sign-in orders
// by week, then by account ID: a store can write it without reading the account.)
func SortKey(a Account, sort string) string {
	switch sort {
	case SortCreated:
		return TimeKey(a.CreatedAt) + "#" + a.ID
	case SortLastLogin:
		return LastLoginWeek(a.LastLoginAt) + "#" + a.ID
	}
	return a.Key()
}

// Entry is an account as a list orders it: its sort key and its ID.
type Entry struct {
	Key string
	ID  string
}

// Cut sorts matched entries in q's order and cuts q's page from them: the entries after
// the cursor, at most q.Limit, and the next page's cursor.
func (q ListQuery) Cut(matched []Entry) (page []Entry, next string) {
	slices.SortFunc(matched, func(x, y Entry) int {
		if q.Desc {
			return strings.Compare(y.Key, x.Key)
		}
		return strings.Compare(x.Key, y.Key)
	})
	start := 0
	if q.After != "" {
		start, _ = slices.BinarySearchFunc(matched, q.After, func(e Entry, after string) int {
			if q.Desc {
				return strings.Compare(after, e.Key)
			}
			return strings.Compare(e.Key, after)
		})
		if start < len(matched) && matched[start].Key == q.After {
			start++
		}
	}
	end := len(matched)
	if q.Limit > 0 && start+q.Limit < end {
		end = start + q.Limit
		next = matched[end-1].Key
	}
	return matched[start:end], next
}

// Page applies q to a tenant's accounts in any order: filter, sort, cut the page after
// the cursor. Stores that keep no index for a query use it.
func (q ListQuery) Page(all []Account) AccountPage {
	byID := map[string]Account{}
	var matched []Entry
	for _, a := range all {
		if q.Matches(a) {
			matched = append(matched, Entry{SortKey(a, q.Sort), a.ID})
			byID[a.ID] = a
		}
	}
	entries, next := q.Cut(matched)
	page := AccountPage{Accounts: []Account{}, Next: next, Total: len(matched)}
	for _, e := range entries {
		page.Accounts = append(page.Accounts, byID[e.ID])
	}
	return page
}
