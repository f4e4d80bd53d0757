package words

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
)

// TestExportWordsAreTheSites holds the accounts export's words (shared/bulk) to the
// site's: every role, state and login method the export can write has, in Japanese and
// English, the word site/words.json gives it.
func TestExportWordsAreTheSites(t *testing.T) {
	js, err := os.ReadFile("../words.json")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{} // value → the site's key
	for _, r := range []account.Role{account.RoleOwner, account.RoleAdmin, account.RoleUser} {
		keys[string(r)] = "role." + string(r)
	}
	for _, s := range append([]string{"ok"}, account.States...) {
		k := s
		if s == account.StateMFAEnabled {
			k = "mfa" // the list's badge
		}
		keys[s] = "admin.status." + k
	}
	for _, m := range []string{account.LoginMethodPassword, account.LoginMethodIdP} {
		keys[m] = "method." + m
	}
	for _, lang := range bulk.ExportLanguages {
		for value, key := range keys {
			entry := strconv.Quote(key) + ": " + strconv.Quote(bulk.ExportWord(lang, value))
			if !strings.Contains(string(js), entry) {
				t.Errorf("%s: the export writes %s for %s, which site/words.json does not give %s", lang, bulk.ExportWord(lang, value), value, key)
			}
		}
	}
}
