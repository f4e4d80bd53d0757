package account

import (
	"testing"
	"time"
)

// Emails give times in one zone, named, whatever the language (no "UTC" beside "日本時間").
func TestFormatTimeNamesTheZone(t *testing.T) {
	at := time.Date(2026, 4, 1, 4, 36, 0, 0, time.UTC)
	k := &notifier{}
	if got := k.formatTime(at, Settings{Language: "ja"}); got != "2026年4月1日 13:36（日本時間）" {
		t.Errorf("ja: %q", got)
	}
	if got := k.formatTime(at, Settings{Language: "en"}); got != "1 April 2026 13:36 JST" {
		t.Errorf("en: %q", got)
	}
}
