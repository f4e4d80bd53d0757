package boltstore

import (
	"context"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

var keySchema = []byte("schema-version")

// SchemaVersion reads the recorded version from the meta bucket; none recorded is 1.
func (s *Store) SchemaVersion(_ context.Context) (int, error) {
	v := 1
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bMeta).Get(keySchema)
		if raw == nil {
			return nil
		}
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			return fmt.Errorf("schema version %q: %w", raw, err)
		}
		v = n
		return nil
	})
	return v, err
}

// RaiseSchemaVersion records v unless a higher version is recorded.
func (s *Store) RaiseSchemaVersion(_ context.Context, v int) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bMeta)
		if raw := b.Get(keySchema); raw != nil {
			if n, err := strconv.Atoi(string(raw)); err == nil && n > v {
				return nil
			}
		}
		return b.Put(keySchema, []byte(strconv.Itoa(v)))
	})
}
