package account_test

import (
	"testing"

	"github.com/kagiya/kagiya/shared/account"
)

func TestInNetworks(t *testing.T) {
	cases := []struct {
		ip       string
		networks []string
		in       bool
	}{
		{"192.0.2.10", nil, true}, // no list: from anywhere
		{"192.0.2.10", []string{"192.0.2.0/24"}, true},
		{"192.0.3.10", []string{"192.0.2.0/24"}, false},
		{"127.0.0.2", []string{"127.0.0.2/32"}, true},
		{"127.0.0.3", []string{"127.0.0.2/32"}, false},
		{"127.0.0.2", []string{"127.0.0.2"}, true}, // a bare address is a range of one
		{"2001:db8::5", []string{"10.0.0.0/8", "2001:db8::/32"}, true},
		{"2001:db9::5", []string{"2001:db8::/32"}, false},
		{"::ffff:198.51.100.7", []string{"198.51.100.0/24"}, true}, // an IPv4-mapped address is its IPv4 one
		{"198.51.100.7", []string{"::ffff:198.51.100.0/120"}, true},
		{"10.0.0.1", []string{"::/0"}, false},
		{"", []string{"0.0.0.0/0"}, false}, // no address established: inside none
		{"not-an-ip", []string{"0.0.0.0/0"}, false},
	}
	for _, c := range cases {
		if got := account.InNetworks(c.networks, c.ip); got != c.in {
			t.Errorf("InNetworks(%v, %q) = %t, want %t", c.networks, c.ip, got, c.in)
		}
	}
}

func TestParseNetworksNamesTheBadOne(t *testing.T) {
	if _, bad := account.ParseNetworks([]string{"10.0.0.0/8", " 2001:db8::/32 ", "192.0.2.1"}); bad != nil {
		t.Fatalf("valid list refused: %v", bad)
	}
	for _, in := range []string{"", "example.com", "10.0.0.0/33", "10.0.0.0/8/8", "fe80::1%eth0", "10.0.0.256", "2001:db8::/129"} {
		_, bad := account.ParseNetworks([]string{"10.0.0.0/8", in})
		if bad == nil || bad.Field != "allowed_networks[1]" || bad.Code != "invalid" {
			t.Errorf("%q: %v", in, bad)
		}
	}
	many := make([]string, account.MaxAllowedNetworks+1)
	for i := range many {
		many[i] = "10.0.0.1"
	}
	if _, bad := account.ParseNetworks(many); bad == nil || bad.Code != "too_many" {
		t.Fatalf("too many: %v", bad)
	}
}
