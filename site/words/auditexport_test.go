package words

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/auditwords"
)

// auditExportKey matches the keys of the site's words the audit export uses.
var auditExportKey = regexp.MustCompile(`"((?:audit|role|bulk\.state)\.[a-z_.:]+)":`)

// TestAuditExportWordsAreTheSites holds the audit export's words (shared/auditwords,
// generated from site/words.json) to the site's: each of its words is the one words.json gives
// its key, and each key of words.json it uses is there, in Japanese and English. When this
// fails, run go generate ./shared/auditwords.
func TestAuditExportWordsAreTheSites(t *testing.T) {
	b, err := os.ReadFile("../words.json")
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	keys := map[string]bool{}
	for _, m := range auditExportKey.FindAllStringSubmatch(js, -1) {
		keys[m[1]] = true
	}
	for _, lang := range auditwords.Languages {
		have := auditwords.Words(lang)
		if len(have) == 0 {
			t.Fatalf("%s: no words", lang)
		}
		for key, word := range have {
			if !strings.Contains(js, strconv.Quote(key)+": "+strconv.Quote(word)) {
				t.Errorf("%s: the export writes %q for %s, which site/words.json does not give it (go generate ./shared/auditwords)", lang, word, key)
			}
		}
		for key := range keys {
			if _, ok := have[key]; !ok {
				t.Errorf("%s: site/words.json has %s, the export has no words for it (go generate ./shared/auditwords)", lang, key)
			}
		}
	}
}

// TestEveryAuditCodeHasWordsInTheExport walks the server's code for every action and
// reason its audit events carry (as TestEveryAuditCodeHasWords) and fails on one the
// export's columns would give as a code: each action's action_label, and a failure for
// each reason's result_label, carry the site's words in Japanese and English.
func TestEveryAuditCodeHasWordsInTheExport(t *testing.T) {
	for _, lang := range auditwords.Languages {
		site := auditwords.Words(lang)
		for key, from := range auditCodes(t) {
			word, ok := site[key]
			if !ok || word == "" {
				t.Errorf("%s: %s (from %s) has no words in the export: give it words in site/words.json, then go generate ./shared/auditwords", lang, key, from)
				continue
			}
			if action, ok := strings.CutPrefix(key, "audit.a."); ok {
				if got := auditwords.Action(lang, action); got != word {
					t.Errorf("%s: action %s (from %s) exported as %q, want %q", lang, action, from, got, word)
				}
				continue
			}
			reason := strings.TrimPrefix(key, "audit.d.")
			got := auditwords.Result(lang, "login", "failed:"+reason)
			if want := site["audit.r.failed"] + "（" + word + "）"; got != want {
				t.Errorf("%s: reason %s (from %s) exported as %q, want %q", lang, reason, from, got, want)
			}
		}
	}
}
