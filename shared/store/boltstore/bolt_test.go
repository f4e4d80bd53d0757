package boltstore

import (
	"path/filepath"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Features{Name: "bbolt", Transactions: true}, func(t *testing.T) account.Store {
		s, err := Open(filepath.Join(t.TempDir(), "kagiya.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
