package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/kagiya/kagiya/shared/account"
)

func passkeyPrefix(accountID string) []byte { return []byte(accountID + "\x00") }
func passkeyKey(accountID, id string) []byte {
	return append(passkeyPrefix(accountID), id...)
}

func (s *Store) ListPasskeys(_ context.Context, accountID string) ([]account.Passkey, error) {
	var out []account.Passkey
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := passkeyPrefix(accountID)
		c := tx.Bucket(bPasskeys).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var p account.Passkey
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b account.Passkey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

// GetPasskeyEventually reads the passkey: the embedded store is always consistent.
func (s *Store) GetPasskeyEventually(_ context.Context, accountID, id string) (p account.Passkey, err error) {
	err = s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bPasskeys), passkeyKey(accountID, id), &p) })
	return p, err
}

func (s *Store) AddPasskey(_ context.Context, in account.Account, p account.Passkey) (account.Account, error) {
	var a account.Account
	err := s.db.Batch(func(tx *bolt.Tx) error {
		a = in // a batch may run this again: start from the input each time
		pb, pk := tx.Bucket(bPasskeys), passkeyKey(a.ID, p.ID)
		if pb.Get(pk) != nil {
			return account.ErrConflict
		}
		if err := updateCounted(tx, &a, 1); err != nil {
			return err
		}
		return put(pb, pk, p)
	})
	return a, err
}

func (s *Store) RemovePasskeys(_ context.Context, in account.Account, ids []string) (account.Account, error) {
	var a account.Account
	err := s.db.Batch(func(tx *bolt.Tx) error {
		a = in
		pb := tx.Bucket(bPasskeys)
		for _, id := range ids {
			if pb.Get(passkeyKey(a.ID, id)) == nil {
				return account.ErrConflict
			}
		}
		if err := updateCounted(tx, &a, -len(ids)); err != nil {
			return err
		}
		for _, id := range ids {
			if err := pb.Delete(passkeyKey(a.ID, id)); err != nil {
				return err
			}
		}
		return nil
	})
	return a, err
}

// updateCounted writes *a at its version (as UpdateAccount does) with delta more passkeys.
func updateCounted(tx *bolt.Tx, a *account.Account, delta int) error {
	b, k := tx.Bucket(bAccounts), acctKey(a.TenantID, a.ID)
	var cur account.Account
	if err := get(b, k, &cur); err != nil {
		return account.ErrConflict
	}
	if cur.Version != a.Version {
		return account.ErrConflict
	}
	a.LoginID = cur.LoginID
	a.Passkeys = cur.Passkeys + delta
	a.Version++
	return put(b, k, *a)
}

func (s *Store) RenamePasskey(_ context.Context, accountID, id, name string) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bPasskeys), passkeyKey(accountID, id)
		var p account.Passkey
		if err := get(b, k, &p); err != nil {
			return err
		}
		p.Name = name
		return put(b, k, p)
	})
}

func (s *Store) UsePasskey(_ context.Context, accountID, id string, u account.PasskeyUse) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bPasskeys), passkeyKey(accountID, id)
		var p account.Passkey
		if err := get(b, k, &p); err != nil {
			return err
		}
		counted := p.SignCount < u.SignCount || p.SignCount == 0 && u.SignCount == 0
		if p.ChallengeAt >= u.ChallengeAt || !counted {
			return account.ErrConflict
		}
		p.SignCount, p.BackupState, p.LastUsedAt, p.ChallengeAt = u.SignCount, u.BackupState, u.At, u.ChallengeAt
		return put(b, k, p)
	})
}

// deletePasskeys removes an account's passkeys (with the account).
func deletePasskeys(tx *bolt.Tx, accountID string) error {
	prefix := passkeyPrefix(accountID)
	c := tx.Bucket(bPasskeys).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
