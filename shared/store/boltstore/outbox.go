package boltstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kagiya/kagiya/shared/outbox"
)

var _ outbox.Store = (*Store)(nil)

// EnqueueMail keeps it until RemoveMail: the local server's mail queue.
func (s *Store) EnqueueMail(_ context.Context, it outbox.Item) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		if b.Get([]byte(it.ID)) != nil {
			return fmt.Errorf("enqueue mail %s: already queued", it.ID)
		}
		return put(b, []byte(it.ID), it)
	})
}

// DueMail returns up to limit items due by now, the earliest due first, and when the
// earliest of the others is due. The queue holds what is not delivered yet, a handful
// of items, so it is read whole.
func (s *Store) DueMail(_ context.Context, now time.Time, limit int) ([]outbox.Item, time.Time, error) {
	var due []outbox.Item
	var next time.Time
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bOutbox).ForEach(func(_, v []byte) error {
			var it outbox.Item
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			if it.NotBefore.After(now) {
				if next.IsZero() || it.NotBefore.Before(next) {
					next = it.NotBefore
				}
				return nil
			}
			due = append(due, it)
			return nil
		})
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("due mail: %w", err)
	}
	slices.SortFunc(due, func(a, b outbox.Item) int {
		return cmp.Or(a.NotBefore.Compare(b.NotBefore), a.Enqueued.Compare(b.Enqueued), cmp.Compare(a.ID, b.ID))
	})
	if len(due) > limit {
		next = due[limit].NotBefore
		due = due[:limit]
	}
	return due, next, nil
}

// RetryMail stores it's attempts and schedule; an item removed meanwhile stays removed.
func (s *Store) RetryMail(_ context.Context, it outbox.Item) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		if b.Get([]byte(it.ID)) == nil {
			return nil
		}
		return put(b, []byte(it.ID), it)
	})
}

// RemoveMail removes the item with id; removing one that is not there is no error.
func (s *Store) RemoveMail(_ context.Context, id string) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return tx.Bucket(bOutbox).Delete([]byte(id)) })
}
