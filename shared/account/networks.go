package account

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// The cloud-storage manual's access routes (アクセス経路設定): a tenant may list the
// networks its people come from (Settings.AllowedNetworks); then sign-ins, signed-in
// requests and service checks from elsewhere are refused, owners excepted, and
// Settings.TrustedNetworksSkipMFA lets sign-ins from those networks skip the second factor.

// MaxAllowedNetworks bounds a tenant's allowed networks.
const MaxAllowedNetworks = 100

// ParseNetworks reads a list of CIDR ranges (IPv4 or IPv6; a bare address is a range of
// one). The first one that is not a range is named by a field error
// ("allowed_networks[i]", "invalid"); more than MaxAllowedNetworks is "too_many".
func ParseNetworks(in []string) ([]netip.Prefix, *FieldError) {
	if len(in) > MaxAllowedNetworks {
		return nil, &FieldError{"allowed_networks", "too_many"}
	}
	out := make([]netip.Prefix, 0, len(in))
	for i, s := range in {
		p, ok := parseNetwork(s)
		if !ok {
			return nil, &FieldError{fmt.Sprintf("allowed_networks[%d]", i), "invalid"}
		}
		out = append(out, p)
	}
	return out, nil
}

func parseNetwork(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Zone() != "" {
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// canonicalNetworks is a valid list in canonical form (masked, no duplicates), as stored.
func canonicalNetworks(in []string) []string {
	ps, bad := ParseNetworks(in)
	if bad != nil {
		return in
	}
	out := []string{}
	for _, p := range ps {
		s := p.String()
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// InNetworks reports whether ip is inside one of networks. An empty list allows every
// address; an address that cannot be read (none was established) is inside none.
func InNetworks(networks []string, ip string) bool {
	if len(networks) == 0 {
		return true
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, s := range networks {
		if p, ok := parseNetwork(s); ok && p.Contains(addr) {
			return true
		}
	}
	return false
}
