package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"testing"
)

// clientFrom is an HTTP client whose connections leave from ip (an address of the
// loopback range), so the local server, which takes the peer for the client's address,
// sees it there.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}}
}

// post sends a JSON body with c and returns the status and the error code, if any.
func post(t *testing.T, c *http.Client, url string, body any, csrf string) (int, string, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	code := ""
	if e, ok := out["error"].(map[string]any); ok {
		code, _ = e["code"].(string)
	}
	return res.StatusCode, code, out
}

// The local server's client address is the peer: with 127.0.0.2 allowed, a person signs
// in from 127.0.0.2 and not from 127.0.0.3, and its session stops working there.
func TestAllowedNetworksByPeerAddress(t *testing.T) {
	base := startServer(t)
	const id, pw = "taro@example.com", "Fuji-Passw0rd-26!"
	createUser(t, base, id, pw)
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	set := tenantSettings(t, owner)
	set["allowed_networks"], set["confirm_password"] = []string{"127.0.0.2/32"}, "Kagi-2026-Tokyo!"
	if res := owner("PUT", "/api/admin/tenant", set); res.StatusCode != 200 {
		t.Fatalf("allowed networks: %d", res.StatusCode)
	}
	inside, outside := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	login := map[string]string{"login_id": id, "password": pw}
	if status, code, _ := post(t, outside, base+"/api/login", login, ""); status != 403 || code != "network_not_allowed" {
		t.Fatalf("from 127.0.0.3: %d %s", status, code)
	}
	status, _, out := post(t, inside, base+"/api/login", login, "")
	if status != 200 {
		t.Fatalf("from 127.0.0.2: %d", status)
	}
	csrf, _ := out["csrf_token"].(string)
	// The session, taken elsewhere, stops working there.
	outside.Jar = inside.Jar
	if status, code, _ := post(t, outside, base+"/api/me/sessions/revoke-others", map[string]string{"current_password": pw}, csrf); status != 403 || code != "network_not_allowed" {
		t.Fatalf("the session from 127.0.0.3: %d %s", status, code)
	}
	res, err := inside.Get(base + "/api/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the session from 127.0.0.2 after: %d", res.StatusCode)
	}
	// The owner, from outside, still gets in.
	if status, _, _ := post(t, outside, base+"/api/login", map[string]string{"login_id": "owner@example.com", "password": "Kagi-2026-Tokyo!"}, ""); status != 200 {
		t.Fatalf("the owner from 127.0.0.3: %d", status)
	}
}
