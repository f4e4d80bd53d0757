package httpapi_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/store/boltstore"
)

// The first tenant's setup records the code's schema version, and a table of that
// version (or one that records none) is served.
func TestSchemaVersionRecordedAndServed(t *testing.T) {
	e := newEnv(t)
	if v, err := e.store.SchemaVersion(context.Background()); err != nil || v != account.SchemaVersion {
		t.Fatalf("after setup: version %d, %v; want %d", v, err, account.SchemaVersion)
	}
	if res := e.client().login(ownerID, ownerPW); res.status != 200 {
		t.Fatalf("login: %d %s", res.status, res.body)
	}
}

// A table written by a newer version (a rollback across a change of item shape) is not
// served: every route answers 503 schema_newer, the versions go to the log only.
func TestRefusesTableOfNewerSchema(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.RaiseSchemaVersion(context.Background(), account.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, st)
	for _, path := range []string{"/api/health", "/api/me"} {
		res := e.client().do("GET", path, nil)
		if res.status != 503 || res.code(t) != account.CodeSchemaNewer {
			t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
		if strings.Contains(string(res.body), "version") {
			t.Errorf("GET %s: the answer tells the versions: %s", path, res.body)
		}
	}
	if res := e.client().login(ownerID, ownerPW); res.status != 503 || res.code(t) != account.CodeSchemaNewer {
		t.Fatalf("login: %d %s", res.status, res.body)
	}
	if !strings.Contains(e.logs.String(), "refusing to serve: the table was written by a newer version") {
		t.Errorf("no log line:\n%s", e.logs.String())
	}
}
