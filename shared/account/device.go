package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// devices signs and checks the cookies that make a browser known to an account: device
// cookies (lockout) and remember-this-browser cookies (the second factor).
type devices struct {
	keys *serverKey
	log  *slog.Logger
	now  func() time.Time
}

// Known browsers (OWASP "device cookies"): a browser that has signed in to an account
// holds a cookie naming a device ID, signed for that account with a server key. Its
// wrong passwords count against that browser alone, so guesses from elsewhere that lock
// the account for unknown clients do not keep its owner out.

// deviceKeyName is the server secret that signs device and remember-browser cookies.
const deviceKeyName = "device-cookie-key"

// serverKey is a signing key kept in the store (Secrets), made on first use and loaded
// once per instance.
type serverKey struct {
	secrets Secrets
	name    string
	mu      sync.Mutex
	key     []byte
}

func (d *serverKey) get(ctx context.Context) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.key != nil {
		return d.key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	key, err := d.secrets.Secret(ctx, d.name, fresh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.name, err)
	}
	d.key = key
	return key, nil
}

// Limits on known browsers: how many with failures an account tracks at once (the
// item stays small), and how many attempts an hour all of them together may make
// (ASVS 2.2.1: no more than 100 failed attempts an hour). Past either, a browser's
// attempts count as an unknown client's: against the account's counter and its lock.
const (
	MaxKnownDevices             = 16
	KnownBrowserAttemptsPerHour = 100
)

// deviceEpoch is what a device cookie is bound to besides its account: the account's
// session epoch, which a password reset or change moves (as do a suspension and an
// administrator's "sign out everywhere"). Every browser that signed in before is then an
// unknown client again.
func deviceEpoch(a Account) string { return strconv.FormatInt(a.SessionEpoch, 36) }

// deviceCookie is a device cookie whose signature was checked: the browser's device ID
// and the epoch it was issued in (which the account may since have left).
type deviceCookie struct {
	ID    string
	Epoch int64
}

func deviceMAC(key []byte, accountID, deviceID, epoch string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kagiya-device\x00" + accountID + "\x00" + deviceID + "\x00" + epoch))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:22]
}

// knownDevice reads a device cookie ("<id>.<epoch>.<mac>") issued for ref's account;
// anything else (none, another account's, forged, malformed) is the zero deviceCookie.
// Whether its epoch is still the account's is for the store to hold at the reservation
// (DeviceLimits.Epoch), so the check costs no read.
func (dv *devices) knownDevice(ctx context.Context, accountID, cookie string) deviceCookie {
	parts := strings.Split(cookie, ".")
	if len(parts) != 3 || len(parts[0]) != 22 || len(parts[2]) != 22 || accountID == "" {
		return deviceCookie{}
	}
	epoch, err := strconv.ParseInt(parts[1], 36, 64)
	if err != nil || strconv.FormatInt(epoch, 36) != parts[1] {
		return deviceCookie{}
	}
	key, err := dv.keys.get(ctx)
	if err != nil {
		dv.log.WarnContext(ctx, "device cookie not checked", "err", err)
		return deviceCookie{}
	}
	if !hmac.Equal([]byte(parts[2]), []byte(deviceMAC(key, accountID, parts[0], parts[1]))) {
		return deviceCookie{}
	}
	return deviceCookie{ID: parts[0], Epoch: epoch}
}

// newDeviceCookie makes a device cookie for a, bound to its session epoch.
func (dv *devices) newDeviceCookie(ctx context.Context, a Account) (string, error) {
	key, err := dv.keys.get(ctx)
	if err != nil {
		return "", err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("device id: %w", err)
	}
	id, epoch := base64.RawURLEncoding.EncodeToString(b), deviceEpoch(a)
	return id + "." + epoch + "." + deviceMAC(key, a.ID, id, epoch), nil
}

// browserName is the User-Agent as a person reads it in an email: short, and plain.
func browserName(ua string) string {
	ua = strings.Map(func(r rune) rune {
		if invisible(r) {
			return -1
		}
		return r
	}, ua)
	if len(ua) > 120 {
		ua = strings.ToValidUTF8(ua[:120], "") + "…"
	}
	if ua == "" {
		return "-"
	}
	return ua
}

// Remember-this-browser cookies: "<account_id>.<browser epoch>.<issued unix>.<mac>",
// signed with the device key. One is good for the account while its BrowserEpoch is the
// one it names (forget-browsers, a password reset, disabling or resetting the second
// factor bump it) and for the tenant's days since it was issued; each sign-in it allows
// issues it again, so the days count from the browser's last sign-in.

func rememberMAC(key []byte, payload string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kagiya-remember\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:22]
}

// rememberCookie makes a remember cookie for a.
func (dv *devices) rememberCookie(ctx context.Context, a Account) (string, error) {
	key, err := dv.keys.get(ctx)
	if err != nil {
		return "", err
	}
	payload := fmt.Sprintf("%s.%d.%d", a.ID, a.MFA.BrowserEpoch, dv.now().Unix())
	return payload + "." + rememberMAC(key, payload), nil
}

// remembered returns a fresh remember cookie for a if one of cookies is good for it, or "".
func (dv *devices) remembered(ctx context.Context, a Account, set Settings, cookies []string) string {
	days := *set.RememberBrowserDays
	if days <= 0 || len(cookies) == 0 {
		return ""
	}
	key, err := dv.keys.get(ctx)
	if err != nil {
		dv.log.WarnContext(ctx, "remember cookie not checked", "err", err)
		return ""
	}
	for _, c := range cookies {
		i := strings.LastIndexByte(c, '.')
		if i < 0 || !hmac.Equal([]byte(c[i+1:]), []byte(rememberMAC(key, c[:i]))) {
			continue
		}
		parts := strings.Split(c[:i], ".")
		if len(parts) != 3 || parts[0] != a.ID || parts[1] != strconv.FormatInt(a.MFA.BrowserEpoch, 10) {
			continue
		}
		issued, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || dv.now().Sub(time.Unix(issued, 0)) > time.Duration(days)*24*time.Hour {
			continue
		}
		fresh, err := dv.rememberCookie(ctx, a)
		if err != nil {
			dv.log.WarnContext(ctx, "remember cookie not renewed", "err", err)
			return ""
		}
		return fresh
	}
	return ""
}
