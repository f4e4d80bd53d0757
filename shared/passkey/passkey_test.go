package passkey_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/passkey"
	"github.com/kagiya/kagiya/shared/passkey/passkeytest"
)

const origin = "https://id.example.com"

// env is a relying party on a test clock, an authenticator, and the passkeys registered
// (by account, then ID), updated as UsePasskey would be.
type env struct {
	rp   *passkey.RP
	auth *passkeytest.Authenticator
	now  time.Time

	mu   sync.Mutex
	keys map[string]map[string]account.Passkey
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{auth: passkeytest.New(origin), now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), keys: map[string]map[string]account.Passkey{}}
	key := []byte("0123456789abcdef0123456789abcdef")
	rp, err := passkey.New(origin, func(context.Context) ([]byte, error) { return key, nil }, func() time.Time { return e.now })
	if err != nil {
		t.Fatal(err)
	}
	e.rp = rp
	return e
}

var (
	ctx   = context.Background()
	alice = passkey.User{AccountID: "acc_aliceaaaaaaaaaaaaaaaaaaaaaaaa", TenantID: "ten_1", LoginID: "alice@example.com"}
	bob   = passkey.User{AccountID: "acc_bobbbbbbbbbbbbbbbbbbbbbbbbbbb", TenantID: "ten_1", LoginID: "bob@example.com"}
)

func (e *env) list(u passkey.User) []account.Passkey {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []account.Passkey
	for _, p := range e.keys[u.AccountID] {
		out = append(out, p)
	}
	return out
}

func (e *env) find(_ context.Context, accountID, id string) (account.Passkey, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.keys[accountID][id]
	if !ok {
		return account.Passkey{}, account.ErrNotFound
	}
	return p, nil
}

// register adds a passkey of the authenticator to u and returns it.
func (e *env) register(t *testing.T, u passkey.User) account.Passkey {
	t.Helper()
	p, err := e.tryRegister(u, "seq-1")
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return p
}

func (e *env) tryRegister(u passkey.User, bind string) (account.Passkey, error) {
	opts, err := e.rp.RegistrationOptions(ctx, u, bind, e.list(u))
	if err != nil {
		return account.Passkey{}, err
	}
	resp, err := e.auth.Create(opts)
	if err != nil {
		return account.Passkey{}, err
	}
	p, err := e.rp.Register(ctx, u, bind, e.list(u), resp)
	if err != nil {
		return account.Passkey{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.keys[u.AccountID] == nil {
		e.keys[u.AccountID] = map[string]account.Passkey{}
	}
	e.keys[u.AccountID][p.ID] = p
	return p, nil
}

// record applies a use as the store's UsePasskey does.
func (e *env) record(p account.Passkey, u account.PasskeyUse) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p = e.keys[p.AccountID][p.ID]
	p.SignCount, p.BackupState, p.LastUsedAt, p.ChallengeAt = u.SignCount, u.BackupState, u.At, u.ChallengeAt
	e.keys[p.AccountID][p.ID] = p
}

// assertion is a sign-in's challenge and the authenticator's answer.
func (e *env) assertion(t *testing.T) (string, []byte) {
	t.Helper()
	challenge, opts, err := e.rp.LoginOptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	return challenge, resp
}

// login signs in and records the use.
func (e *env) login(challenge string, resp []byte) (account.Passkey, error) {
	p, use, err := e.rp.Login(ctx, challenge, resp, e.find)
	if err == nil {
		e.record(p, use)
	}
	return p, err
}

func rejected(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, passkey.ErrRejected) {
		t.Fatalf("%s: got %v, want ErrRejected", what, err)
	}
}

func TestRegisterThenSignInWithoutPassword(t *testing.T) {
	e := newEnv(t)
	opts, err := e.rp.RegistrationOptions(ctx, alice, "seq-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		RP struct {
			ID, Name string
		}
		User struct {
			ID, Name string
		}
		Challenge   string
		Attestation string
		Sel         struct {
			ResidentKey      string `json:"residentKey"`
			RequireResident  bool   `json:"requireResidentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	if o.RP.ID != "id.example.com" || o.User.ID != base64.RawURLEncoding.EncodeToString([]byte(alice.AccountID)) ||
		o.User.Name != alice.LoginID || o.Sel.ResidentKey != "required" || !o.Sel.RequireResident ||
		o.Sel.UserVerification != "required" || o.Attestation != "none" || len(o.Challenge) < 22 {
		t.Fatalf("creation options: %s", opts)
	}
	p := e.register(t, alice)
	cred := e.auth.Credentials()[0]
	if p.ID != account.PasskeyID(cred.ID) || !bytes.Equal(p.CredentialID, cred.ID) || p.AccountID != alice.AccountID ||
		p.TenantID != "ten_1" || len(p.PublicKey) == 0 || !p.BackupEligible || !p.BackupState || p.AttestationFormat != "none" ||
		len(p.Transports) != 2 || p.ChallengeAt != 0 {
		t.Fatalf("registered passkey: %+v", p)
	}

	e.now = e.now.Add(time.Minute)
	challenge, resp := e.assertion(t)
	var ro struct {
		Challenge        string
		RPID             string `json:"rpId"`
		Allow            []any  `json:"allowCredentials"`
		UserVerification string `json:"userVerification"`
	}
	_, opts, _ = e.rp.LoginOptions(ctx)
	if err := json.Unmarshal(opts, &ro); err != nil || ro.RPID != "id.example.com" || len(ro.Allow) != 0 || ro.UserVerification != "required" {
		t.Fatalf("request options (discoverable, user verification required): %s %v", opts, err)
	}
	got, use, err := e.rp.Login(ctx, challenge, resp, e.find)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if got.ID != p.ID || got.AccountID != alice.AccountID || use.SignCount != 0 || !use.At.Equal(e.now) ||
		use.ChallengeAt <= p.ChallengeAt || !use.BackupState {
		t.Fatalf("signed in as %+v with %+v", got, use)
	}
}

func TestReplayedAssertionIsRefused(t *testing.T) {
	e := newEnv(t)
	e.register(t, alice)
	e.now = e.now.Add(time.Second)
	challenge, resp := e.assertion(t)
	if _, err := e.login(challenge, resp); err != nil {
		t.Fatal(err)
	}
	_, err := e.login(challenge, resp)
	rejected(t, "the same assertion again", err)

	// An older challenge, answered but never sent, is used up by the newer one's use.
	old, oldResp := e.assertion(t)
	e.now = e.now.Add(time.Second)
	newer, newResp := e.assertion(t)
	if _, err := e.login(newer, newResp); err != nil {
		t.Fatal(err)
	}
	_, err = e.login(old, oldResp)
	rejected(t, "an older challenge after a newer one", err)

	// The assertion sent with another live challenge than the one it signed.
	other, _, _ := e.rp.LoginOptions(ctx)
	_, err = e.login(other, newResp)
	rejected(t, "an assertion under another challenge", err)
}

func TestWrongOriginIsRefused(t *testing.T) {
	e := newEnv(t)
	e.auth.Origin = "https://id.example.com.evil.example"
	_, err := e.tryRegister(alice, "seq-1")
	rejected(t, "registration from another origin", err)

	e.auth.Origin = origin
	e.register(t, alice)
	e.auth.Origin = "https://evil.example"
	e.now = e.now.Add(time.Second)
	_, err = e.login(e.assertion(t))
	rejected(t, "sign-in from another origin", err)
	e.auth.Origin = "http://id.example.com"
	_, err = e.login(e.assertion(t))
	rejected(t, "sign-in over http", err)
}

func TestWrongRPIDIsRefused(t *testing.T) {
	e := newEnv(t)
	e.auth.RPID = "example.com"
	_, err := e.tryRegister(alice, "seq-1")
	rejected(t, "registration for another relying party", err)

	e.auth.RPID = "id.example.com"
	e.register(t, alice)
	e.now = e.now.Add(time.Second)
	challenge, _, _ := e.rp.LoginOptions(ctx)
	e.auth.RPID = "evil.example"
	resp, err := e.auth.Sign(e.auth.Credentials()[0], challenge)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.login(challenge, resp)
	rejected(t, "an assertion for another relying party", err)
}

func TestTamperedAssertionIsRefused(t *testing.T) {
	e := newEnv(t)
	e.register(t, alice)
	e.now = e.now.Add(time.Second)
	tamper := func(field string, change func([]byte) []byte) []byte {
		challenge, resp := e.assertion(t)
		var m map[string]any
		json.Unmarshal(resp, &m)
		r := m["response"].(map[string]any)
		raw, _ := base64.RawURLEncoding.DecodeString(r[field].(string))
		r[field] = base64.RawURLEncoding.EncodeToString(change(raw))
		out, _ := json.Marshal(m)
		_, err := e.login(challenge, out)
		rejected(t, "tampered "+field, err)
		return raw
	}
	tamper("signature", func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
	tamper("authenticatorData", func(b []byte) []byte { b[36]++; return b }) // the counter
	tamper("clientDataJSON", func(b []byte) []byte {
		return bytes.Replace(b, []byte(`"crossOrigin":false`), []byte(`"crossOrigin":true`), 1)
	})
	// Without user verification.
	e.auth.UserVerified = false
	_, err := e.login(e.assertion(t))
	rejected(t, "no user verification", err)
	e.auth.UserVerified = true
	// A flipped backup-eligible flag: another kind of authenticator than registered.
	e.auth.Backup = false
	_, err = e.login(e.assertion(t))
	rejected(t, "backup eligibility changed", err)
	e.auth.Backup = true
	if _, err := e.login(e.assertion(t)); err != nil {
		t.Fatalf("the untampered assertion: %v", err)
	}
}

func TestUnknownCredentialIsRefused(t *testing.T) {
	e := newEnv(t)
	// A passkey the authenticator holds but the site never registered (or removed).
	if _, err := e.auth.Create(mustRegistrationOptions(t, e, alice)); err != nil {
		t.Fatal(err)
	}
	_, err := e.login(e.assertion(t))
	rejected(t, "an unregistered credential", err)

	// Bob's registered passkey presented with Alice's user handle.
	e.register(t, bob)
	creds := e.auth.Credentials()
	creds[1].UserHandle = []byte(alice.AccountID)
	e.now = e.now.Add(time.Second)
	_, err = e.login(e.assertion(t))
	rejected(t, "a credential under another account's handle", err)

	// A store that fails is not a rejection: the caller answers 5xx, not 401.
	creds[1].UserHandle = []byte(bob.AccountID)
	failing := func(context.Context, string, string) (account.Passkey, error) {
		return account.Passkey{}, errors.New("throttled")
	}
	challenge, resp := e.assertion(t)
	if _, _, err := e.rp.Login(ctx, challenge, resp, failing); err == nil || errors.Is(err, passkey.ErrRejected) {
		t.Fatalf("a failing store: %v", err)
	}
}

func mustRegistrationOptions(t *testing.T, e *env, u passkey.User) []byte {
	t.Helper()
	opts, err := e.rp.RegistrationOptions(ctx, u, "seq-1", e.list(u))
	if err != nil {
		t.Fatal(err)
	}
	return opts
}

func TestCountersMustMoveOn(t *testing.T) {
	e := newEnv(t)
	e.auth.Counter = true
	e.register(t, alice)
	for want := uint32(1); want <= 2; want++ {
		e.now = e.now.Add(time.Second)
		p, err := e.login(e.assertion(t))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := e.find(ctx, alice.AccountID, p.ID); got.SignCount != want {
			t.Fatalf("counter %d, want %d", got.SignCount, want)
		}
	}
	// A clone of the authenticator, made when its counter was 1, signs with 2 again.
	e.auth.Credentials()[0].Count = 1
	e.now = e.now.Add(time.Second)
	_, err := e.login(e.assertion(t))
	rejected(t, "a counter that did not move on", err)
	// An authenticator without a counter (0 every time) is fine while it stays at 0.
	e2 := newEnv(t)
	e2.register(t, alice)
	for range 2 {
		e2.now = e2.now.Add(time.Second)
		if _, err := e2.login(e2.assertion(t)); err != nil {
			t.Fatalf("counterless: %v", err)
		}
	}
}

func TestChallengesAreShortLivedAndForOneCeremony(t *testing.T) {
	e := newEnv(t)
	e.register(t, alice)
	challenge, resp := e.assertion(t)
	e.now = e.now.Add(passkey.ChallengeTTL)
	_, err := e.login(challenge, resp)
	rejected(t, "an expired challenge", err)

	// A registration challenge is bound to its account and flow sequence.
	opts := mustRegistrationOptions(t, e, bob)
	resp, err = e.auth.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.rp.Register(ctx, bob, "seq-2", nil, resp)
	rejected(t, "registration after the flow moved on", err)
	_, err = e.rp.Register(ctx, alice, "seq-1", nil, resp)
	rejected(t, "registration for another account", err)
	// The registration's own challenge does not sign anyone in.
	var o struct{ Challenge string }
	json.Unmarshal(opts, &o)
	signed, err := e.auth.Sign(e.auth.Credentials()[0], o.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.login(o.Challenge, signed)
	rejected(t, "a registration challenge used to sign in", err)

	// A challenge signed with another key (another deployment).
	other, err := passkey.New(origin, func(context.Context) ([]byte, error) { return []byte("another key"), nil }, func() time.Time { return e.now })
	if err != nil {
		t.Fatal(err)
	}
	forged, fopts, _ := other.LoginOptions(ctx)
	fresp, _ := e.auth.Get(fopts)
	_, err = e.login(forged, fresp)
	rejected(t, "a challenge of another key", err)
}

func TestPasskeyAsSecondFactor(t *testing.T) {
	e := newEnv(t)
	e.register(t, alice)
	e.register(t, bob)
	flow := "flow-challenge-of-alice"
	e.now = e.now.Add(time.Second)
	opts, err := e.rp.FactorOptions(ctx, flow, e.list(alice))
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Challenge string
		Allow     []struct{ ID string } `json:"allowCredentials"`
	}
	json.Unmarshal(opts, &o)
	if len(o.Allow) != 1 || o.Allow[0].ID != base64.RawURLEncoding.EncodeToString(e.auth.Credentials()[0].ID) {
		t.Fatalf("allowCredentials: %s", opts)
	}
	resp, err := e.auth.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.rp.Factor(ctx, alice, "another flow", e.list(alice), resp); !errors.Is(err, passkey.ErrRejected) {
		t.Fatalf("another flow's challenge: %v", err)
	}
	if _, _, err := e.rp.Factor(ctx, bob, flow, e.list(bob), resp); !errors.Is(err, passkey.ErrRejected) {
		t.Fatalf("for another account: %v", err)
	}
	p, use, err := e.rp.Factor(ctx, alice, flow, e.list(alice), resp)
	if err != nil || p.AccountID != alice.AccountID || use.ChallengeAt <= p.ChallengeAt {
		t.Fatalf("second factor: %+v %+v %v", p, use, err)
	}
	// Bob's passkey under Alice's allowed list is refused.
	bobResp, _ := e.auth.Sign(e.auth.Credentials()[1], o.Challenge)
	if _, _, err := e.rp.Factor(ctx, alice, flow, e.list(alice), bobResp); !errors.Is(err, passkey.ErrRejected) {
		t.Fatalf("another account's passkey: %v", err)
	}
	if _, err := e.rp.FactorOptions(ctx, flow, nil); !errors.Is(err, passkey.ErrRejected) {
		t.Fatalf("options for an account without passkeys: %v", err)
	}
}

func TestOriginsNamingAHost(t *testing.T) {
	key := func(context.Context) ([]byte, error) { return []byte("k"), nil }
	for _, bad := range []string{"http://127.0.0.1:8080", "https://[::1]", "id.example.com", "ftp://id.example.com", "https://id.example.com/path"} {
		if _, err := passkey.New(bad, key, time.Now); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	rp, err := passkey.New("http://localhost:8080", key, time.Now)
	if err != nil || rp.RPID() != "localhost" {
		t.Fatalf("local: %v %v", rp, err)
	}
}
