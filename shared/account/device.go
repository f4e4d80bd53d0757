package account

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Known browsers (OWASP "device cookies"): a browser that has signed in to an account
// holds a cookie naming a device ID, signed for that account with a server key. Its
// wrong passwords count against that browser alone, so guesses from elsewhere that lock
// the account for unknown clients do not keep its owner out.

// deviceKeyName is the server secret that signs device cookies.
const deviceKeyName = "device-cookie-key"

// deviceKeys loads the signing key once per instance.
type deviceKeys struct {
	secrets Secrets
	mu      sync.Mutex
	key     []byte
}

func (d *deviceKeys) get(ctx context.Context) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.key != nil {
		return d.key, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	key, err := d.secrets.Secret(ctx, deviceKeyName, fresh)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	d.key = key
	return key, nil
}

func deviceMAC(key []byte, accountID, deviceID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kagiya-device\x00" + accountID + "\x00" + deviceID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:22]
}

// knownDevice returns the device ID of a device cookie that was issued for accountID,
// or "" for anything else (none, another account's, forged, malformed).
func (k *kit) knownDevice(ctx context.Context, accountID, cookie string) string {
	id, mac, ok := strings.Cut(cookie, ".")
	if !ok || len(id) != 22 || len(mac) != 22 || accountID == "" {
		return ""
	}
	key, err := k.devices.get(ctx)
	if err != nil {
		k.log.WarnContext(ctx, "device cookie not checked", "err", err)
		return ""
	}
	if !hmac.Equal([]byte(mac), []byte(deviceMAC(key, accountID, id))) {
		return ""
	}
	return id
}

// newDeviceCookie makes a device cookie for accountID.
func (k *kit) newDeviceCookie(ctx context.Context, accountID string) (string, error) {
	key, err := k.devices.get(ctx)
	if err != nil {
		return "", err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("device id: %w", err)
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	return id + "." + deviceMAC(key, accountID, id), nil
}

// verifyKnown checks plain from a known browser (deviceID, already verified for the
// account), counting against that browser alone, when the tenant's lockout scope allows
// it. handled=false means the browser has no attempt left, the scope is "account", or
// there is no such account: the caller checks as for an unknown client.
func (k *kit) verifyKnown(ctx context.Context, ref LoginRef, plain, ip, deviceID string) (a Account, match, stale, handled bool, err error) {
	if deviceID == "" || ref.AccountID == "-" {
		return Account{}, false, false, false, nil
	}
	set, err := k.settingsOf(ctx, ref.TenantID)
	if err != nil || set.LockoutScope != ScopeUntrustedDevices {
		return Account{}, false, false, false, err
	}
	a, ok, err := k.attempts.ReserveDeviceAttempt(ctx, ref.TenantID, ref.AccountID, deviceID, set.LockoutThreshold)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Account{}, false, false, false, fmt.Errorf("reserve device attempt: %w", err)
	}
	if !ok {
		return Account{}, false, false, false, nil
	}
	match, stale, err = k.checkHash(ctx, a, set, plain)
	if err != nil {
		return Account{}, false, false, false, err
	}
	if !match && a.DeviceFailures[deviceID] >= set.LockoutThreshold {
		k.audit(ctx, AuditEvent{TenantID: a.TenantID, Actor: "system", Action: "device.untrusted", Target: a.LoginID, TargetID: a.ID, IP: ip,
			Result: fmt.Sprintf("ok:%d failures from a known browser", set.LockoutThreshold)})
	}
	return a, match, stale, true, nil
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
