package bulk

import "testing"

// An account's states in words, in either language, joined as each lists things.
func TestExportStatesInWords(t *testing.T) {
	for _, c := range []struct {
		lang   string
		states []string
		want   string
	}{
		{"ja", nil, "利用可"},
		{"en", nil, "Active"},
		{"ja", []string{"locked", "mfa_enabled"}, "ロック中、2段階認証"},
		{"en", []string{"locked", "mfa_enabled"}, "Locked, 2-step"},
		{"en", []string{"a_state_with_no_word"}, "a_state_with_no_word"},
		{"fr", []string{"disabled"}, "停止中"},
	} {
		if got := ExportStates(c.lang, c.states); got != c.want {
			t.Errorf("%s %v: %q, want %q", c.lang, c.states, got, c.want)
		}
	}
}
