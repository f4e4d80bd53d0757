package account

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// SchemaVersion is the shape of the stored items this code writes and reads. Version 1
// is every item as stored when the version record was introduced; a table without the
// record was written by a version that kept no record and holds version 1 items.
//
// A change of item shape raises it, and the code that raises it keeps reading items of
// the version before (SchemaVersion-1), so a table upgraded in place keeps working while
// old items are rewritten. Code never serves a table whose recorded version is newer than
// its own: it would misread or damage items it does not know.
const SchemaVersion = 1

// Schema keeps the version of the stored items' shape.
type Schema interface {
	// SchemaVersion returns the recorded version; 1 when none is recorded.
	SchemaVersion(ctx context.Context) (int, error)
	// RaiseSchemaVersion records v unless a higher version is recorded already (a
	// rolled-back deployment never lowers it).
	RaiseSchemaVersion(ctx context.Context, v int) error
}

// ErrSchemaNewer is the table having been written by a newer version of Kagiya.
var ErrSchemaNewer = errors.New("stored items are of a newer schema version than this code")

// SchemaGuard checks, once per instance, that the table is not of a newer schema than
// this code. A check that could not read the version is tried again on the next call; a
// table found usable is not read again.
type SchemaGuard struct {
	schema Schema
	mu     sync.Mutex
	ok     bool
}

// NewSchemaGuard guards the code against the version s records.
func NewSchemaGuard(s Schema) *SchemaGuard { return &SchemaGuard{schema: s} }

// Check returns nil if the table's items are of this code's version or older, an error
// wrapping ErrSchemaNewer if they are newer, or the store's error.
func (g *SchemaGuard) Check(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ok {
		return nil
	}
	v, err := g.schema.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: table %d, code %d", ErrSchemaNewer, v, SchemaVersion)
	}
	g.ok = true
	return nil
}
