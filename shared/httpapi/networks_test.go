package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
)

// Allowed networks (the cloud-storage manual's access routes) on every way in: ranges
// of both families, the owner's exemption, a session used from outside, the service
// check by client_ip, and skip-MFA inside.

var allowed = []string{"192.0.2.0/24", "2001:db8::/32"}

func withNetworks(skipMFA bool) option {
	return withSettings(account.Settings{AllowedNetworks: allowed, TrustedNetworksSkipMFA: skipMFA})
}

// from is a browser at ip.
func (e *env) from(ip string) *client { c := e.client(); c.ip = ip; return c }

func TestAllowedNetworksRefuseSignInsFromOutside(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		e.withUser(userID, "user")
		for _, c := range []struct {
			ip string
			ok bool
		}{{"192.0.2.10", true}, {"2001:db8::7", true}, {"::ffff:192.0.2.11", true}, {"198.51.100.7", false}, {"2001:db9::7", false}} {
			res := e.from(c.ip).login(userID, userPW)
			if c.ok && res.status != 200 || !c.ok && (res.status != 403 || res.code(t) != "network_not_allowed") {
				t.Fatalf("sign-in from %s: %d %s", c.ip, res.status, res.body)
			}
		}
		// A wrong password from outside is only a wrong password.
		if res := e.from("198.51.100.7").login(userID, "Not-The-Passw0rd!"); res.status != 401 || res.code(t) != "invalid_credentials" {
			t.Fatalf("wrong password from outside: %d %s", res.status, res.body)
		}
		// Owners are never refused: the contract holder's way back in.
		if res := e.from("198.51.100.7").login(ownerID, ownerPW); res.status != 200 {
			t.Fatalf("owner from outside: %d %s", res.status, res.body)
		}
		if audit := e.auditActions(t); !strings.Contains(audit, "login:failed:network_not_allowed") {
			t.Fatalf("audit: %s", audit)
		}
	}, withConfig(noThrottle), withNetworks(false))
}

func TestAllowedNetworksStopASessionUsedFromOutside(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		e.withUser(userID, "user")
		c := e.from("192.0.2.10")
		if res := c.login(userID, userPW); res.status != 200 {
			t.Fatalf("sign-in inside: %d %s", res.status, res.body)
		}
		c.ip = "198.51.100.7" // the same session, taken elsewhere
		res := c.do("GET", "/api/me", nil)
		if res.status != 403 || res.code(t) != "network_not_allowed" {
			t.Fatalf("session from outside: %d %s", res.status, res.body)
		}
		if c.cookie == nil {
			t.Fatal("the session cookie was cleared")
		}
		c.ip = "192.0.2.99"
		if res := c.do("GET", "/api/me", nil); res.status != 200 {
			t.Fatalf("the session back inside: %d %s", res.status, res.body)
		}
		if !e.auditHas("session", "failed:network_not_allowed") {
			t.Fatalf("audit: %s", e.auditActions(t))
		}
		// The owner's session works from anywhere.
		owner := e.from("198.51.100.7")
		if res := owner.login(ownerID, ownerPW); res.status != 200 {
			t.Fatalf("owner: %d %s", res.status, res.body)
		}
		if res := owner.do("GET", "/api/me", nil); res.status != 200 {
			t.Fatalf("owner's session from outside: %d %s", res.status, res.body)
		}
	}, withConfig(noThrottle), withNetworks(false))
}

func TestAllowedNetworksHoldForTheServiceCheckByClientIP(t *testing.T) {
	onBothStores(t, func(t *testing.T, e *env) {
		e.withUser(userID, "user")
		secret := e.serviceCredential("mail")
		if res := e.verifyFrom(secret, userID, userPW, "192.0.2.25"); res.status != 200 {
			t.Fatalf("inside: %d %s", res.status, res.body)
		}
		for _, ip := range []string{"198.51.100.7", "2001:db9::1"} {
			if res := e.verifyFrom(secret, userID, userPW, ip); res.status != 403 || res.code(t) != "network_not_allowed" {
				t.Fatalf("from %s: %d %s", ip, res.status, res.body)
			}
		}
		// A check that names no client address is from no allowed network.
		if res := e.verifyFrom(secret, userID, userPW, ""); res.status != 403 || res.code(t) != "network_not_allowed" {
			t.Fatalf("no client_ip: %d %s", res.status, res.body)
		}
		// A wrong password from outside stays a wrong password.
		if res := e.verifyFrom(secret, userID, "Not-The-Passw0rd!", "198.51.100.7"); res.status != 401 || res.code(t) != "invalid_credentials" {
			t.Fatalf("wrong password outside: %d %s", res.status, res.body)
		}
		if !e.auditHas("service.verify", "failed:imap:network_not_allowed") {
			t.Fatalf("audit: %s", e.auditActions(t))
		}
	}, withConfig(noThrottle), withNetworks(false))
}

func TestTrustedNetworksSkipTheSecondFactorInsideOnly(t *testing.T) {
	for _, skip := range []bool{true, false} {
		t.Run(fmt.Sprint("skip=", skip), func(t *testing.T) {
			onBothStores(t, func(t *testing.T, e *env) {
				e.withUser(userID, "user")
				e.enrol(e.signedIn(userID, userPW), userPW)
				inside := e.from("192.0.2.10").login(userID, userPW)
				got := inside.json(t)["result"]
				if skip && (inside.status != 200 || got != "ok") || !skip && got != "mfa_required" {
					t.Fatalf("inside with skip=%t: %d %s", skip, inside.status, inside.body)
				}
				// The owner may come from outside, and is asked for its code there.
				e.enrol(e.signedIn(ownerID, ownerPW), ownerPW)
				if res := e.from("198.51.100.7").login(ownerID, ownerPW); res.json(t)["result"] != "mfa_required" {
					t.Fatalf("owner outside: %d %s", res.status, res.body)
				}
			}, withConfig(noThrottle), withNetworks(skip))
		})
	}
}
