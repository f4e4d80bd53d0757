package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kagiya/kagiya/shared/account"
)

func credPrefix(kind, owner string) []byte { return []byte(kind + "\x00" + owner + "\x00") }
func credKey(kind, owner, id string) []byte {
	return append(credPrefix(kind, owner), id...)
}

func (s *Store) CreateCredential(_ context.Context, c account.Credential) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bCreds), credKey(c.Kind, c.Owner, c.ID)
		if b.Get(k) != nil {
			return account.ErrConflict
		}
		return put(b, k, c)
	})
}

func (s *Store) GetCredential(_ context.Context, kind, owner, id string) (c account.Credential, err error) {
	err = s.db.View(func(tx *bolt.Tx) error { return get(tx.Bucket(bCreds), credKey(kind, owner, id), &c) })
	return c, err
}

// ListCredentialsEventually is ListCredentials: the embedded store is always consistent.
func (s *Store) ListCredentialsEventually(ctx context.Context, kind, owner string) ([]account.Credential, error) {
	return s.ListCredentials(ctx, kind, owner)
}

func (s *Store) ListCredentials(_ context.Context, kind, owner string) ([]account.Credential, error) {
	var out []account.Credential
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := credPrefix(kind, owner)
		c := tx.Bucket(bCreds).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var cred account.Credential
			if err := json.Unmarshal(v, &cred); err != nil {
				return err
			}
			out = append(out, cred)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b account.Credential) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, err
}

func (s *Store) TouchCredential(_ context.Context, kind, owner, id string, at time.Time) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bCreds), credKey(kind, owner, id)
		var c account.Credential
		if err := get(b, k, &c); err != nil {
			return err
		}
		c.LastUsedAt = at
		return put(b, k, c)
	})
}

func (s *Store) DeleteCredential(_ context.Context, kind, owner, id string) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, k := tx.Bucket(bCreds), credKey(kind, owner, id)
		if b.Get(k) == nil {
			return account.ErrNotFound
		}
		return b.Delete(k)
	})
}
