// Package boltstore is the embedded account.Store of the local server: one bbolt file,
// so data survives a restart and nothing else has to run.
package boltstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
)

var (
	bTenants  = []byte("tenants")
	bAccounts = []byte("accounts")
	bSessions = []byte("sessions")
	bAudit    = []byte("audit")
	bTokens   = []byte("tokens")
	bJobs     = []byte("jobs")
	bLogins   = []byte("logins")      // login key → LoginRef: login IDs are unique deployment-wide
	bHistory  = []byte("history")     // tenant\x00account → earlier password hashes
	bSecrets  = []byte("secrets")     // name → server secret
	bRecovery = []byte("recovery")    // tenant\x00account → hashes of unused recovery codes
	bCreds    = []byte("credentials") // kind\x00owner\x00id → Credential
	bDomains  = []byte("domains")     // verified domain → the tenant ID that holds it
	bMeta     = []byte("meta")        // schema-version → the items' schema version
	bPasskeys = []byte("passkeys")    // account\x00passkey ID → Passkey
	bOutbox   = []byte("outbox")      // message ID → outbox.Item: mail not delivered yet
)

// Store keeps everything in one bbolt database. Every method is one bbolt transaction,
// and bbolt serializes writers, so each is atomic. Writes go through db.Batch, which may
// run a write function more than once: each starts from its inputs every time. Throttling counters live in memory
// (see Hit).
type Store struct {
	db *bolt.DB

	hitsMu    sync.Mutex
	hits      map[hitKey]int
	lastPrune time.Time
}

var (
	_ account.Store = (*Store)(nil)
	_ bulk.JobStore = (*Store)(nil)
)

// ErrInUse: another process holds the database file.
var ErrInUse = errors.New("in use by another process (bbolt allows one)")

// Open opens (creating if needed) the database file at path.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrInUse)
	} else if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Writers that arrive within a millisecond of each other share one transaction and
	// one fsync (bbolt serializes writers, and a sign-in makes four writes).
	db.MaxBatchDelay = time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bTenants, bAccounts, bSessions, bAudit, bTokens, bJobs, bLogins, bHistory, bSecrets, bRecovery, bCreds, bDomains, bMeta, bPasskeys, bOutbox} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create buckets: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database file.
func (s *Store) Close() error { return s.db.Close() }

func acctKey(tenantID, key string) []byte { return []byte(tenantID + "\x00" + key) }

func put(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

func get(b *bolt.Bucket, k []byte, v any) error {
	data := b.Get(k)
	if data == nil {
		return account.ErrNotFound
	}
	return json.Unmarshal(data, v)
}

func (s *Store) CreateTenant(_ context.Context, t account.Tenant, owner account.Account) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		tb := tx.Bucket(bTenants)
		if tb.Get([]byte(t.ID)) != nil {
			return account.ErrConflict
		}
		if err := createAccount(tx, owner); err != nil {
			return err
		}
		return put(tb, []byte(t.ID), t)
	})
}

func (s *Store) GetTenant(_ context.Context, id string) (t account.Tenant, err error) {
	err = s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bTenants), []byte(id), &t) })
	return t, err
}

func (s *Store) UpdateTenant(_ context.Context, t account.Tenant) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bTenants)
		if b.Get([]byte(t.ID)) == nil {
			return account.ErrNotFound
		}
		return put(b, []byte(t.ID), t)
	})
}

func (s *Store) DomainHolder(_ context.Context, domain string) (tenantID string, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bDomains).Get([]byte(domain))
		if v == nil {
			return account.ErrNotFound
		}
		tenantID = string(v)
		return nil
	})
	return tenantID, err
}

func (s *Store) ClaimDomain(_ context.Context, t account.Tenant, domain string) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		tb, db := tx.Bucket(bTenants), tx.Bucket(bDomains)
		if tb.Get([]byte(t.ID)) == nil {
			return account.ErrNotFound
		}
		if held := db.Get([]byte(domain)); held != nil && string(held) != t.ID {
			return account.ErrConflict
		}
		if err := db.Put([]byte(domain), []byte(t.ID)); err != nil {
			return err
		}
		return put(tb, []byte(t.ID), t)
	})
}

func (s *Store) ReleaseDomains(_ context.Context, t account.Tenant, domains []string) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		tb, db := tx.Bucket(bTenants), tx.Bucket(bDomains)
		if tb.Get([]byte(t.ID)) == nil {
			return account.ErrNotFound
		}
		for _, d := range domains {
			if string(db.Get([]byte(d))) != t.ID {
				continue
			}
			if err := db.Delete([]byte(d)); err != nil {
				return err
			}
		}
		return put(tb, []byte(t.ID), t)
	})
}

func (s *Store) CreateAccount(_ context.Context, a account.Account) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return createAccount(tx, a) })
}

// createAccount writes a and its login ID's item, or nothing if the login ID (or the
// account ID) is taken.
func createAccount(tx *bolt.Tx, a account.Account) error {
	ab, lb, k := tx.Bucket(bAccounts), tx.Bucket(bLogins), acctKey(a.TenantID, a.ID)
	if ab.Get(k) != nil || lb.Get([]byte(a.Key())) != nil {
		return account.ErrConflict
	}
	a.Version = 1
	if err := put(lb, []byte(a.Key()), account.LoginRef{TenantID: a.TenantID, AccountID: a.ID}); err != nil {
		return err
	}
	return put(ab, k, a)
}

func (s *Store) LookupLogin(_ context.Context, loginKey string) (ref account.LoginRef, err error) {
	err = s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bLogins), []byte(loginKey), &ref) })
	return ref, err
}

func (s *Store) GetAccount(_ context.Context, tenantID, id string) (a account.Account, err error) {
	err = s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bAccounts), acctKey(tenantID, id), &a) })
	return a, err
}

// GetAccountEventually is GetAccount: bbolt reads are always current.
func (s *Store) GetAccountEventually(ctx context.Context, tenantID, id string) (account.Account, error) {
	return s.GetAccount(ctx, tenantID, id)
}

func (s *Store) UpdateAccount(_ context.Context, in account.Account) (account.Account, error) {
	var a account.Account
	err := s.db.Batch(func(tx *bolt.Tx) error {
		a = in // a batch may run this again: start from the input each time
		b, k := tx.Bucket(bAccounts), acctKey(a.TenantID, a.ID)
		var cur account.Account
		if err := get(b, k, &cur); err != nil {
			return err
		}
		if cur.Version != a.Version {
			return account.ErrConflict
		}
		a.LoginID = cur.LoginID // changed only by ChangeLoginID
		a.Version++
		return put(b, k, a)
	})
	return a, err
}

func (s *Store) ChangeLoginID(_ context.Context, in account.Account, newLoginID string) (account.Account, error) {
	var a account.Account
	err := s.db.Batch(func(tx *bolt.Tx) error {
		a = in // a batch may run this again: start from the input each time
		ab, lb, k := tx.Bucket(bAccounts), tx.Bucket(bLogins), acctKey(a.TenantID, a.ID)
		var cur account.Account
		if err := get(ab, k, &cur); err != nil {
			return err
		}
		newKey := account.Key(newLoginID)
		if cur.Version != a.Version || newKey != cur.Key() && lb.Get([]byte(newKey)) != nil {
			return account.ErrConflict
		}
		if err := lb.Delete([]byte(cur.Key())); err != nil {
			return err
		}
		if err := put(lb, []byte(newKey), account.LoginRef{TenantID: a.TenantID, AccountID: a.ID}); err != nil {
			return err
		}
		a.LoginID = newLoginID
		a.Version++
		return put(ab, k, a)
	})
	return a, err
}

func (s *Store) DeleteAccount(_ context.Context, tenantID, id string) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bAccounts), acctKey(tenantID, id)
		var a account.Account
		if err := get(b, k, &a); err != nil {
			return err
		}
		if err := tx.Bucket(bLogins).Delete([]byte(a.Key())); err != nil {
			return err
		}
		if err := tx.Bucket(bHistory).Delete(k); err != nil {
			return err
		}
		if err := tx.Bucket(bRecovery).Delete(k); err != nil {
			return err
		}
		if err := deletePasskeys(tx, id); err != nil {
			return err
		}
		return b.Delete(k)
	})
}

// ListAccounts reads the tenant's accounts and pages them in memory: the embedded store
// serves one machine's tenants, whose lists fit in memory.
func (s *Store) ListAccounts(_ context.Context, tenantID string, q account.ListQuery) (account.AccountPage, error) {
	var all []account.Account
	prefix := []byte(tenantID + "\x00")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAccounts).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var a account.Account
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			all = append(all, a)
		}
		return nil
	})
	if err != nil {
		return account.AccountPage{}, err
	}
	return q.Page(all), nil
}

func (s *Store) GetHistory(_ context.Context, tenantID, id string) (h []string, err error) {
	err = s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bHistory), acctKey(tenantID, id), &h) })
	if errors.Is(err, account.ErrNotFound) {
		return nil, nil
	}
	return h, err
}

func (s *Store) PutHistory(_ context.Context, tenantID, id string, hashes []string) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		if tx.Bucket(bAccounts).Get(acctKey(tenantID, id)) == nil {
			return account.ErrNotFound
		}
		return put(tx.Bucket(bHistory), acctKey(tenantID, id), hashes)
	})
}

func (s *Store) RecoveryCodes(_ context.Context, tenantID, id string) (h []string, err error) {
	err = s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bRecovery), acctKey(tenantID, id), &h) })
	if errors.Is(err, account.ErrNotFound) {
		return nil, nil
	}
	return h, err
}

func (s *Store) PutRecoveryCodes(_ context.Context, tenantID, id string, hashes []string) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		k := acctKey(tenantID, id)
		if len(hashes) == 0 {
			return tx.Bucket(bRecovery).Delete(k)
		}
		return put(tx.Bucket(bRecovery), k, hashes)
	})
}

func (s *Store) UseRecoveryCode(_ context.Context, tenantID, id, hash string) (left int, err error) {
	err = s.db.Batch(func(tx *bolt.Tx) error {
		var codes []string
		b, k := tx.Bucket(bRecovery), acctKey(tenantID, id)
		if err := get(b, k, &codes); err != nil {
			return err
		}
		i := slices.Index(codes, hash)
		if i < 0 {
			return account.ErrNotFound
		}
		codes = slices.Delete(codes, i, i+1)
		left = len(codes)
		if left == 0 {
			return b.Delete(k)
		}
		return put(b, k, codes)
	})
	return left, err
}

func (s *Store) RecordLogin(_ context.Context, tenantID, id string, at time.Time) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bAccounts), acctKey(tenantID, id)
		var a account.Account
		if err := get(b, k, &a); err != nil {
			return err
		}
		a.LastLoginAt, a.FailedAttempts = at, 0
		a.Version++
		return put(b, k, a)
	})
}

// sessionKey keeps an account's sessions together: account ID, then the token's hash.
func sessionKey(accountID, idHash string) []byte { return []byte(accountID + "\x00" + idHash) }

func (s *Store) CreateSession(_ context.Context, sess account.Session) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bSessions), sessionKey(sess.AccountID, sess.IDHash)
		if b.Get(k) != nil {
			return account.ErrConflict
		}
		return put(b, k, sess)
	})
}

func (s *Store) GetSession(_ context.Context, accountID, idHash string) (sess account.Session, err error) {
	err = s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bSessions), sessionKey(accountID, idHash), &sess) })
	return sess, err
}

func (s *Store) TouchSession(_ context.Context, accountID, idHash string, at time.Time) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bSessions), sessionKey(accountID, idHash)
		var sess account.Session
		if err := get(b, k, &sess); err != nil {
			return err
		}
		sess.LastSeenAt = at
		return put(b, k, sess)
	})
}

func (s *Store) DeleteSession(_ context.Context, accountID, idHash string) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bSessions), sessionKey(accountID, idHash)
		if b.Get(k) == nil {
			return account.ErrNotFound
		}
		return b.Delete(k)
	})
}

func (s *Store) ListSessions(_ context.Context, accountID string) ([]account.Session, error) {
	var out []account.Session
	prefix := []byte(accountID + "\x00")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bSessions).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var sess account.Session
			if err := json.Unmarshal(v, &sess); err != nil {
				return err
			}
			out = append(out, sess)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b account.Session) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// auditSortKey orders events by time; the random suffix keeps simultaneous events apart.
func auditSortKey(at time.Time) (string, error) {
	r := make([]byte, 4)
	if _, err := rand.Read(r); err != nil {
		return "", err
	}
	return at.UTC().Format("20060102T150405.000000000") + "#" + hex.EncodeToString(r), nil
}

func (s *Store) AppendAudit(_ context.Context, e account.AuditEvent) error {
	sk, err := auditSortKey(e.At)
	if err != nil {
		return err
	}
	return s.db.Batch(func(tx *bolt.Tx) error {
		return put(tx.Bucket(bAudit), []byte(e.TenantID+"\x00"+sk), e)
	})
}

func (s *Store) ListAudit(_ context.Context, tenantID, after string, limit int) ([]account.AuditEvent, string, error) {
	var out []account.AuditEvent
	var lastKey string
	more := false
	prefix := []byte(tenantID + "\x00")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAudit).Cursor()
		var k, v []byte
		if after == "" {
			// Seek past the tenant's last key, then step back.
			k, v = c.Seek([]byte(tenantID + "\x01"))
			if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			k, v = c.Seek(append(bytes.Clone(prefix), after...))
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
			if len(out) == limit {
				more = true
				return nil
			}
			var e account.AuditEvent
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			e.TenantID = tenantID
			out = append(out, e)
			lastKey = string(k[len(prefix):])
		}
		return nil
	})
	if !more {
		lastKey = ""
	}
	return out, lastKey, err
}

// Hit counts in memory: throttling counters need no durability, and keeping them out of
// the file spares every sign-in two synced writes. Windows that ended are dropped as new
// ones start.
func (s *Store) Hit(_ context.Context, key string, windowEnd time.Time) (int, error) {
	s.hitsMu.Lock()
	defer s.hitsMu.Unlock()
	if s.hits == nil {
		s.hits = map[hitKey]int{}
	}
	if windowEnd.After(s.lastPrune.Add(time.Minute)) {
		for k := range s.hits {
			// Windows are at most a day long, so one that ended a day before this one is over.
			if time.Unix(0, k.end).Before(windowEnd.Add(-24 * time.Hour)) {
				delete(s.hits, k)
			}
		}
		s.lastPrune = windowEnd
	}
	k := hitKey{key, windowEnd.UnixNano()}
	s.hits[k]++
	return s.hits[k], nil
}

type hitKey struct {
	key string
	end int64
}

// updateAccount applies f to the stored account and writes it, in one transaction, and
// returns what it wrote. An error from f writes nothing.
func (s *Store) updateAccount(tenantID, id string, f func(a *account.Account) error) (account.Account, error) {
	var a account.Account
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bAccounts), acctKey(tenantID, id)
		a = account.Account{}
		if err := get(b, k, &a); err != nil {
			return err
		}
		if err := f(&a); err != nil {
			return err
		}
		a.Version++
		return put(b, k, a)
	})
	return a, err
}

// errNoAttempt ends a transaction without writing.
var errNoAttempt = errors.New("no attempt left")

func (s *Store) ReserveAttempt(_ context.Context, tenantID, id string, threshold int, at time.Time) (account.Account, bool, error) {
	out, err := s.updateAccount(tenantID, id, func(a *account.Account) error {
		if a.Disabled || a.PasswordHash == "" || a.Locked() || a.FailedAttempts >= threshold {
			return errNoAttempt
		}
		a.FailedAttempts++
		a.LastAttemptAt = at
		return nil
	})
	if errors.Is(err, errNoAttempt) {
		return account.Account{}, false, nil
	}
	return out, err == nil, err
}

func (s *Store) ReleaseAttempt(_ context.Context, tenantID, id string) error {
	_, err := s.updateAccount(tenantID, id, func(a *account.Account) error {
		if a.Locked() || a.FailedAttempts <= 0 {
			return errNoAttempt
		}
		a.FailedAttempts--
		return nil
	})
	if errors.Is(err, errNoAttempt) {
		return nil
	}
	return err
}

func (s *Store) ReserveDeviceAttempt(_ context.Context, tenantID, id, deviceID string, lim account.DeviceLimits) (account.Account, bool, error) {
	hour := lim.Hour()
	out, err := s.updateAccount(tenantID, id, func(a *account.Account) error {
		n, tracked := a.DeviceFailures[deviceID]
		if a.Disabled || a.PasswordHash == "" || a.SessionEpoch != lim.Epoch || n >= lim.Threshold ||
			!tracked && len(a.DeviceFailures) >= lim.MaxDevices ||
			a.DeviceHour == hour && a.DeviceHourAttempts >= lim.HourlyCeiling {
			return errNoAttempt
		}
		if a.DeviceFailures == nil {
			a.DeviceFailures = map[string]int{}
		}
		a.DeviceFailures[deviceID]++
		if a.DeviceHour != hour {
			a.DeviceHour, a.DeviceHourAttempts = hour, 0
		}
		a.DeviceHourAttempts++
		return nil
	})
	if errors.Is(err, errNoAttempt) {
		return account.Account{}, false, nil
	}
	return out, err == nil, err
}

func (s *Store) RecordDeviceLogin(_ context.Context, tenantID, id, deviceID string, at time.Time) error {
	_, err := s.updateAccount(tenantID, id, func(a *account.Account) error {
		a.LastLoginAt = at
		delete(a.DeviceFailures, deviceID)
		return nil
	})
	return err
}

func (s *Store) Secret(_ context.Context, name string, fresh []byte) ([]byte, error) {
	var out []byte
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bSecrets)
		if v := b.Get([]byte(name)); v != nil {
			out = bytes.Clone(v)
			return nil
		}
		out = bytes.Clone(fresh)
		return b.Put([]byte(name), fresh)
	})
	return out, err
}

func (s *Store) Lock(_ context.Context, tenantID, id string, threshold int, at, linkUntil time.Time) (bool, error) {
	_, err := s.updateAccount(tenantID, id, func(a *account.Account) error {
		if a.Locked() || a.FailedAttempts < threshold {
			return errNoAttempt
		}
		a.LockedAt, a.UnlockLinkUntil = at, linkUntil
		return nil
	})
	if errors.Is(err, errNoAttempt) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) Unlock(_ context.Context, tenantID, id string) error {
	_, err := s.updateAccount(tenantID, id, func(a *account.Account) error {
		if !a.Locked() {
			return account.ErrConflict
		}
		a.LockedAt, a.FailedAttempts = time.Time{}, 0
		return nil
	})
	return err
}

func (s *Store) CreateToken(_ context.Context, t account.Token) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bTokens)
		if b.Get([]byte(t.IDHash)) != nil {
			return account.ErrConflict
		}
		pruneTokens(b, t.CreatedAt)
		return put(b, []byte(t.IDHash), t)
	})
}

func (s *Store) ConsumeToken(_ context.Context, idHash, purpose string, now time.Time) (account.Token, error) {
	var t account.Token
	err := s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bTokens)
		if err := get(b, []byte(idHash), &t); err != nil {
			return err
		}
		if t.Purpose != purpose || !now.Before(t.ExpiresAt) {
			return account.ErrNotFound
		}
		return b.Delete([]byte(idHash))
	})
	return t, err
}

func (s *Store) PeekToken(_ context.Context, idHash, purpose string, now time.Time) (account.Token, error) {
	var t account.Token
	err := s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bTokens), []byte(idHash), &t) })
	if err == nil && (t.Purpose != purpose || !now.Before(t.ExpiresAt)) {
		err = account.ErrNotFound
	}
	return t, err
}

// pruneTokens drops a few expired tokens; the bucket holds only live links.
func pruneTokens(b *bolt.Bucket, now time.Time) {
	c := b.Cursor()
	dropped := 0
	for k, v := c.First(); k != nil && dropped < 16; k, v = c.Next() {
		var t account.Token
		if json.Unmarshal(v, &t) == nil && now.After(t.ExpiresAt) {
			c.Delete() //nolint:errcheck // best effort
			dropped++
		}
	}
}

func (s *Store) CreateJob(_ context.Context, j bulk.Job) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bJobs), acctKey(j.TenantID, j.ID)
		if b.Get(k) != nil {
			return account.ErrConflict
		}
		j.Version = 1
		return put(b, k, storedJob{j.Record(), j.Version, 0})
	})
}

// storedJob is a job's record, its version and its delivered notices (CountNotified).
type storedJob struct {
	Record    bulk.Record
	Version   int64
	Delivered int `json:",omitempty"`
}

func (sj storedJob) job() bulk.Job {
	j := sj.Record.Restore(sj.Version)
	if j.Queued > 0 || sj.Delivered > 0 { // a job from before the outbox keeps its count of sent notices
		j.Notified = sj.Delivered
	}
	return j
}

// CountNotified counts one delivered notice of the job (the outbox's sender calls it);
// UpdateJob keeps the count as it finds it.
func (s *Store) CountNotified(_ context.Context, tenantID, id string) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bJobs), acctKey(tenantID, id)
		var sj storedJob
		if err := get(b, k, &sj); err != nil {
			return err
		}
		sj.Delivered++
		return put(b, k, sj)
	})
}

func (s *Store) GetJob(_ context.Context, tenantID, id string) (bulk.Job, error) {
	var sj storedJob
	err := s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bJobs), acctKey(tenantID, id), &sj) })
	return sj.job(), err
}

func (s *Store) UpdateJob(_ context.Context, in bulk.Job) (bulk.Job, error) {
	var j bulk.Job
	err := s.db.Batch(func(tx *bolt.Tx) error {
		j = in // a batch may run this again: start from the input each time
		b, k := tx.Bucket(bJobs), acctKey(j.TenantID, j.ID)
		var cur storedJob
		if err := get(b, k, &cur); err != nil {
			return err
		}
		if cur.Version != j.Version {
			return account.ErrConflict
		}
		j.Version++
		j.Notified = cur.Delivered
		return put(b, k, storedJob{j.Record(), j.Version, cur.Delivered})
	})
	return j, err
}

func (s *Store) ListJobs(_ context.Context, tenantID, after string, limit int) ([]bulk.Job, string, error) {
	var out []bulk.Job
	prefix := []byte(tenantID + "\x00")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bJobs).Cursor()
		// Newest first: from the end of the tenant's keys (or just before after), backwards.
		var k, v []byte
		if after == "" {
			if k, v = c.Seek([]byte(tenantID + "\x01")); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		} else {
			c.Seek(acctKey(tenantID, after))
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) <= limit; k, v = c.Prev() {
			var sj storedJob
			if err := json.Unmarshal(v, &sj); err != nil {
				return err
			}
			out = append(out, sj.job())
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if len(out) > limit {
		return out[:limit], out[limit-1].ID, nil
	}
	return out, "", nil
}

// HasTenants reports whether any tenant exists (the local server's first run has none).
func (s *Store) HasTenants() (bool, error) {
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bTenants).Cursor().First()
		found = k != nil
		return nil
	})
	return found, err
}
