package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testIssuer is a certificate authority made for one test.
type testIssuer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Kagiya test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testIssuer{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf issues a server certificate for names; a nil issuer makes it self-signed.
func leaf(t *testing.T, issuer *testIssuer, names ...string) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	parent, signer := tmpl, any(key)
	if issuer != nil {
		parent, signer = issuer.cert, issuer.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// The Lua passdb sends the service credential and the person's password only to a
// server whose certificate chains to its cafile and names the URL's host, and its
// timeout holds over https (LuaSec's own default is 60 s and verify "none").
func TestDovecotVerifiesKagiyasCertificate(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	secret := dovecotCredential(t, owner)
	const pw = "Umi-no-Kaze-2026!"
	res := owner("POST", "/api/admin/accounts", map[string]any{"login_id": "mail@example.com", "role": "user", "password": pw})
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("create: %d", res.StatusCode)
	}

	// One https front for Kagiya whose certificate the test swaps: the one Dovecot
	// should trust, a self-signed impostor, and the trusted CA's certificate for
	// another name. requests counts what reached it past the handshake.
	ca := newTestIssuer(t)
	trusted := leaf(t, ca, "localhost")
	var current atomic.Pointer[tls.Certificate]
	var requests atomic.Int32
	var hang atomic.Bool
	release := make(chan struct{})
	target, _ := url.Parse(base)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if hang.Load() {
			<-release
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	front.TLS = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return current.Load(), nil }}
	front.StartTLS()
	t.Cleanup(func() { close(release); front.Close() })
	frontURL := strings.Replace(front.URL, "127.0.0.1", "localhost", 1)

	addr := startDovecot(t, frontURL, secret,
		[]string{"cafile = {{dir}}/ca.pem", "timeout = 2"}, map[string][]byte{"ca.pem": ca.pem})

	for _, c := range []struct {
		name string
		cert *tls.Certificate
	}{
		{"self-signed impostor", leaf(t, nil, "localhost")},
		{"trusted CA, another name", leaf(t, ca, "id.example.com")},
		{"trusted CA, wildcard of another level", leaf(t, ca, "*.localhost")},
	} {
		current.Store(c.cert)
		if ok, status := imapLogin(t, addr, "mail@example.com", pw); ok {
			t.Fatalf("%s: logged in (%q)", c.name, status)
		}
		if n := requests.Load(); n != 0 {
			t.Fatalf("%s: %d requests sent past the handshake", c.name, n)
		}
	}

	// A server that never answers: the login fails after the configured 2 s, well
	// before the IMAP client's 20 s deadline (it took 60 s with LuaSec's default).
	current.Store(trusted)
	hang.Store(true)
	if ok, _ := imapLogin(t, addr, "mail@example.com", pw); ok {
		t.Fatal("logged in through a server that never answered")
	}
	if requests.Load() != 1 {
		t.Fatalf("%d requests to the hanging server", requests.Load())
	}
	hang.Store(false)

	if ok, status := imapLogin(t, addr, "mail@example.com", pw); !ok {
		t.Fatalf("the trusted certificate: refused (%q)", status)
	}
	if ok, _ := imapLogin(t, addr, "mail@example.com", "Wrong-Guess-0000!"); ok {
		t.Fatal("a wrong password logged in over https")
	}
}
