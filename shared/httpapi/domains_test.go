package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/dnstest"
)

// withDNS has the service prove domains against an in-process DNS server.
func withDNS(t testing.TB) (option, *dnstest.Server) {
	t.Helper()
	srv, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return func(s *setup) { s.deps.Resolver = dnstest.Resolver(srv.Addr) }, srv
}

// addDomain asks for a domain and returns the TXT record to publish.
func addDomain(t *testing.T, c *client, domain string, want int) string {
	t.Helper()
	res := c.do("POST", "/api/admin/tenant/domains", map[string]any{"domain": domain})
	if res.status != want {
		t.Fatalf("add %s: %d %s", domain, res.status, res.body)
	}
	body := res.json(t)
	value, _ := body["txt_value"].(string)
	if want < 300 && (body["txt_name"] != strings.ToLower(domain) || !strings.HasPrefix(value, "kagiya-verify=") || len(value) < len("kagiya-verify=")+26) {
		t.Fatalf("add %s: %s", domain, res.body)
	}
	return value
}

func domainStatus(t *testing.T, c *client) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range c.do("GET", "/api/admin/tenant", nil).json(t)["domain_status"].([]any) {
		m := d.(map[string]any)
		out[m["domain"].(string)] = m["status"].(string)
	}
	return out
}

// domainCases run on the embedded store and on DynamoDB (minidyn).
var domainCases = map[string]func(*testing.T, *env, *dnstest.Server){
	"ProvenByTXTAndHeldByOne":       domainsProvenByTXTAndHeldByOne,
	"AddressesBelongToTheHolder":    domainsAddressesBelongToTheHolder,
	"TakenDoesNotRevealElsewhere":   domainsTakenDoesNotRevealElsewhere,
	"RemovedDomainIsReleased":       domainsRemovedDomainIsReleased,
	"EmailVerifiedByLinkOrDomain":   domainsEmailVerifiedByLinkOrDomain,
	"OnlyOwnersClaimAndNotByPUT":    domainsOnlyOwnersClaimAndNotByPUT,
	"LookupFailureIsNotVerified":    domainsLookupFailureIsNotVerified,
	"BulkCreateRefusedInHeldDomain": domainsBulkCreateRefusedInHeldDomain,
	"RemoveClaimOrDomain":           domainsRemoveClaimOrDomain,
}

func TestDomainOwnership(t *testing.T) {
	for name, run := range domainCases {
		t.Run(name, func(t *testing.T) {
			dns, srv := withDNS(t)
			run(t, newEnv(t, withConfig(noThrottle), dns), srv)
		})
	}
}

func TestDomainOwnershipOnDynamoDB(t *testing.T) {
	for name, run := range domainCases {
		t.Run(name, func(t *testing.T) {
			dns, srv := withDNS(t)
			run(t, newDynamoEnv(t, withConfig(noThrottle), dns).env, srv)
		})
	}
}

// A domain joins a tenant when its TXT record is found, and then no other tenant can
// have it, even one that asked for it first (the uniqueness item is written in the
// claim's transaction).
func domainsProvenByTXTAndHeldByOne(t *testing.T, e *env, dns *dnstest.Server) {
	owner := e.signedIn(ownerID, ownerPW)
	_, boss := e.secondTenant("boss@cloud.example")

	if got := domainStatus(t, owner); got["example.com"] != "unverified" {
		t.Fatalf("a domain listed before proof: %v", got)
	}
	record := addDomain(t, owner, "Example.COM", 201)
	if again := addDomain(t, owner, "example.com", 200); again != record {
		t.Fatalf("asking again gave another record: %s, %s", again, record)
	}
	theirs := addDomain(t, boss, "example.com", 201)
	if theirs == record {
		t.Fatal("two tenants got the same record")
	}
	verify := func(c *client, domain string) response {
		return c.do("POST", "/api/admin/tenant/domains/"+domain+"/verify", nil)
	}

	if res := verify(owner, "example.com"); res.status != 422 || res.code(t) != "domain_not_verified" {
		t.Fatalf("verify before the record is published: %d %s", res.status, res.body)
	}
	dns.SetTXT("example.com", "v=spf1 -all", "kagiya-verify=somebody-else")
	if res := verify(owner, "example.com"); res.status != 422 || res.code(t) != "domain_not_verified" {
		t.Fatalf("verify with another token published: %d %s", res.status, res.body)
	}
	if !e.auditHas("domain.verify", "failed:no_record") {
		t.Fatal("a failed verification is not audited")
	}
	// Both tenants' records are published (each proves control of the domain); the first
	// to verify holds it.
	dns.SetTXT("example.com", "v=spf1 -all", record, theirs)
	res := verify(owner, "example.com")
	if res.status != 200 || res.json(t)["status"] != "verified" || res.json(t)["txt_value"] != nil {
		t.Fatalf("verify: %d %s", res.status, res.body)
	}
	if got := domainStatus(t, owner); got["example.com"] != "verified" {
		t.Fatalf("after verification: %v", got)
	}
	if !e.auditHas("domain.verify", "ok") {
		t.Fatal("the verification is not audited")
	}
	if res := verify(boss, "example.com"); res.status != 409 || res.code(t) != "domain_taken" {
		t.Fatalf("a second tenant verifies a held domain: %d %s", res.status, res.body)
	}
	if got := domainStatus(t, boss); got["example.com"] != "pending" || got["cloud.example"] != "unverified" {
		t.Fatalf("the second tenant's domains: %v", got)
	}
	if res := boss.do("POST", "/api/admin/tenant/domains", map[string]any{"domain": "EXAMPLE.com"}); res.status != 200 {
		t.Fatalf("the second tenant's own pending claim: %d %s", res.status, res.body)
	}
	_, third := e.secondTenant("z@third.example")
	if res := third.do("POST", "/api/admin/tenant/domains", map[string]any{"domain": "example.com"}); res.status != 409 || res.code(t) != "domain_taken" {
		t.Fatalf("asking for a held domain: %d %s", res.status, res.body)
	}
	if res := third.do("POST", "/api/admin/tenant/domains", map[string]any{"domain": "not a domain"}); res.status != 422 {
		t.Fatalf("a malformed domain: %d %s", res.status, res.body)
	}
	if res := verify(third, "nowhere.example"); res.status != 404 {
		t.Fatalf("verify without a claim: %d %s", res.status, res.body)
	}
	// Verifying again is harmless.
	if res := verify(owner, "example.com"); res.status != 200 {
		t.Fatalf("verify again: %d %s", res.status, res.body)
	}
	// A listed domain asked for keeps its place in the list, not verified yet.
	addDomain(t, third, "third.example", 201)
	if got := domainStatus(t, third); got["third.example"] != "unverified" {
		t.Fatalf("a listed domain asked for again: %v", got)
	}
}

// verifyDomain proves domain for c's tenant.
func verifyDomain(t *testing.T, c *client, dns *dnstest.Server, domain string) {
	t.Helper()
	dns.SetTXT(domain, addDomain(t, c, domain, 201))
	if res := c.do("POST", "/api/admin/tenant/domains/"+domain+"/verify", nil); res.status != 200 {
		t.Fatalf("verify %s: %d %s", domain, res.status, res.body)
	}
}

// dropDomains makes c's tenant take any address.
func dropDomains(t *testing.T, c *client) {
	t.Helper()
	set := c.do("GET", "/api/admin/tenant", nil).json(t)
	set["domains"], set["confirm_password"] = []string{}, ownerPW
	if res := c.do("PUT", "/api/admin/tenant", set); res.status != 200 {
		t.Fatalf("drop domains: %d %s", res.status, res.body)
	}
}

// No other tenant creates, invites or moves a login ID into a verified domain.
func domainsAddressesBelongToTheHolder(t *testing.T, e *env, dns *dnstest.Server) {
	owner := e.signedIn(ownerID, ownerPW)
	_, boss := e.secondTenant("boss@cloud.example")
	dropDomains(t, boss) // a tenant that takes any address
	// Before example.com is verified, any tenant could use it (as before).
	if res := boss.do("POST", "/api/admin/accounts", map[string]any{"login_id": "early@example.com", "password": "Sakura-Saku-Pass-8!"}); res.status != 201 {
		t.Fatalf("before the domain is held: %d %s", res.status, res.body)
	}
	if res := boss.do("POST", "/api/admin/accounts", map[string]any{"login_id": "waiting@example.com", "invite": true}); res.status != 201 {
		t.Fatalf("invite before the domain is held: %d %s", res.status, res.body)
	}
	verifyDomain(t, owner, dns, "example.com")
	// An invitation is not sent again into the domain once another tenant holds it.
	sent := len(e.mailbox.Messages("waiting@example.com"))
	res := boss.do("POST", "/api/admin/accounts/waiting@example.com/invite", nil)
	if res.status != 422 || !strings.Contains(string(res.body), `"field":"login_id","code":"other_tenant"`) || len(e.mailbox.Messages("waiting@example.com")) != sent {
		t.Fatalf("resend into a held domain: %d %s", res.status, res.body)
	}
	otherTenant := `"field":"login_id","code":"other_tenant"`
	for _, body := range []map[string]any{
		{"login_id": "new@example.com", "password": "Sakura-Saku-Pass-8!"},
		{"login_id": "New@Example.com", "invite": true},
	} {
		res := boss.do("POST", "/api/admin/accounts", body)
		if res.status != 422 || !strings.Contains(string(res.body), otherTenant) {
			t.Fatalf("create %v in another tenant's domain: %d %s", body, res.status, res.body)
		}
	}
	if n := len(e.mailbox.Messages("new@example.com")); n != 0 {
		t.Fatalf("%d emails sent into another tenant's domain", n)
	}
	// Its own tenant still creates there.
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "new@example.com", "password": "Sakura-Saku-Pass-8!"}); res.status != 201 {
		t.Fatalf("the holder creates: %d %s", res.status, res.body)
	}
	// A login ID that existed before stays (and signs in).
	if res := e.client().login("early@example.com", "Sakura-Saku-Pass-8!"); res.status != 200 {
		t.Fatalf("an existing login ID in a domain verified later: %d %s", res.status, res.body)
	}
	// Login-ID changes: the person's own and an administrator's.
	if res := boss.do("POST", "/api/admin/accounts", map[string]any{"login_id": "mover@gmail.example", "password": "Sakura-Saku-Pass-8!"}); res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	mover := e.signedIn("mover@gmail.example", "Sakura-Saku-Pass-8!")
	res = mover.do("POST", "/api/me/login-id", map[string]any{"new_login_id": "mover@example.com", "current_password": "Sakura-Saku-Pass-8!"})
	if res.status != 422 || !strings.Contains(string(res.body), `"field":"new_login_id","code":"other_tenant"`) {
		t.Fatalf("own login ID into another tenant's domain: %d %s", res.status, res.body)
	}
	res = boss.do("PATCH", "/api/admin/accounts/mover@gmail.example", map[string]any{"login_id": "mover@example.com", "confirm_password": ownerPW})
	if res.status != 422 || !strings.Contains(string(res.body), `"field":"new_login_id","code":"other_tenant"`) {
		t.Fatalf("an administrator moves a login ID into another tenant's domain: %d %s", res.status, res.body)
	}
	if n := len(e.mailbox.Messages("mover@example.com")); n != 0 {
		t.Fatalf("%d emails sent into another tenant's domain", n)
	}
}

// Between tenants, an existing login ID gets the answer an address outside the tenant's
// domains gets: no administrator learns which addresses another tenant has.
func domainsTakenDoesNotRevealElsewhere(t *testing.T, e *env, dns *dnstest.Server) {
	_, boss := e.secondTenant("boss@cloud.example")
	_, third := e.secondTenant("z@third.example")
	dropDomains(t, boss)
	dropDomains(t, third)
	if res := boss.do("POST", "/api/admin/accounts", map[string]any{"login_id": "hanako@gmail.example", "password": "Sakura-Saku-Pass-8!"}); res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	// In its own tenant the administrator sees the account anyway: taken says so.
	if res := boss.do("POST", "/api/admin/accounts", map[string]any{"login_id": "HANAKO@gmail.example"}); res.status != 409 || res.code(t) != "login_id_taken" {
		t.Fatalf("a login ID of the same tenant: %d %s", res.status, res.body)
	}
	verifyDomain(t, boss, dns, "cloud.example")
	held := third.do("POST", "/api/admin/accounts", map[string]any{"login_id": "nobody@cloud.example"})
	exists := third.do("POST", "/api/admin/accounts", map[string]any{"login_id": "Hanako@gmail.example"})
	if exists.status != 422 || string(exists.body) != string(held.body) {
		t.Fatalf("an address of another tenant: %d %s; an address in a domain another tenant holds: %d %s", exists.status, exists.body, held.status, held.body)
	}
	if exists.code(t) == "login_id_taken" {
		t.Fatal("login_id_taken across tenants")
	}
	// A login-ID change to another tenant's address answers the same.
	if res := third.do("POST", "/api/admin/accounts", map[string]any{"login_id": "taro@gmail.example", "password": "Sakura-Saku-Pass-8!"}); res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	taro := e.signedIn("taro@gmail.example", "Sakura-Saku-Pass-8!")
	res := taro.do("POST", "/api/me/login-id", map[string]any{"new_login_id": "hanako@gmail.example", "current_password": "Sakura-Saku-Pass-8!"})
	if res.status != 422 || !strings.Contains(string(res.body), `"field":"new_login_id","code":"other_tenant"`) {
		t.Fatalf("a login-ID change to another tenant's address: %d %s", res.status, res.body)
	}
}

// Removing a verified domain (PUT, confirmed) releases it: another tenant may then prove it.
func domainsRemovedDomainIsReleased(t *testing.T, e *env, dns *dnstest.Server) {
	owner := e.signedIn(ownerID, ownerPW)
	_, boss := e.secondTenant("boss@cloud.example")
	verifyDomain(t, owner, dns, "example.com")
	if res := boss.do("POST", "/api/admin/tenant/domains", map[string]any{"domain": "example.com"}); res.status != 409 {
		t.Fatalf("a held domain: %d %s", res.status, res.body)
	}
	set := owner.do("GET", "/api/admin/tenant", nil).json(t)
	set["domains"], set["confirm_password"] = []string{}, ownerPW
	if res := owner.do("PUT", "/api/admin/tenant", set); res.status != 200 || len(domainStatus(t, owner)) != 0 {
		t.Fatalf("remove the domain: %d %s", res.status, res.body)
	}
	if !strings.Contains(e.auditActions(t), "tenant.update:ok") {
		t.Fatal("not audited")
	}
	verifyDomain(t, boss, dns, "example.com")
	if got := domainStatus(t, boss); got["example.com"] != "verified" {
		t.Fatalf("the domain after its release: %v", got)
	}
	// The first tenant's claim went with the domain: asking again gives a new record.
	if res := owner.do("POST", "/api/admin/tenant/domains", map[string]any{"domain": "example.com"}); res.status != 409 {
		t.Fatalf("the released domain, now held by another: %d %s", res.status, res.body)
	}
}

// email_verified (the OpenID Connect claim, shared/idp) is the account's: an emailed link
// used, or its domain verified by its tenant.
func domainsEmailVerifiedByLinkOrDomain(t *testing.T, e *env, dns *dnstest.Server) {
	ctx := context.Background()
	owner := e.signedIn(ownerID, ownerPW)
	verified := func(id string) bool {
		t.Helper()
		a := e.account(id)
		ok, err := e.svc.Integrations.EmailVerified(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "made@example.com", "password": "Sakura-Saku-Pass-8!"}); res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	if verified("made@example.com") || verified(ownerID) {
		t.Fatal("an address nobody proved is verified")
	}
	// An invitation accepted.
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "invited@example.com", "invite": true}); res.status != 201 {
		t.Fatalf("invite: %d %s", res.status, res.body)
	}
	token, _ := e.pageLink("invited@example.com", "invite")
	if res := e.client().do("POST", "/api/invitations/accept", map[string]any{"token": token, "new_password": "Sakura-Saku-Pass-8!"}); res.status != 200 {
		t.Fatalf("accept: %d %s", res.status, res.body)
	}
	// A reset link used.
	if res := e.client().do("POST", "/api/password/forgot", map[string]any{"login_id": "made@example.com"}); res.status != 202 {
		t.Fatalf("forgot: %d %s", res.status, res.body)
	}
	msgs := e.mailbox.Messages("made@example.com")
	token = tokenFrom(t, msgs[len(msgs)-1], "reset")
	if res := e.client().do("POST", "/api/password/reset", map[string]any{"token": token, "new_password": "Kawa-no-Sakana-77!"}); res.status != 200 {
		t.Fatalf("reset: %d %s", res.status, res.body)
	}
	// A login-ID change confirmed from the link mailed to the new address.
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "old@example.com", "password": "Sakura-Saku-Pass-8!"}); res.status != 201 {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	mover := e.signedIn("old@example.com", "Sakura-Saku-Pass-8!")
	if res := mover.do("POST", "/api/me/login-id", map[string]any{"new_login_id": "new@example.com", "current_password": "Sakura-Saku-Pass-8!"}); res.status >= 300 {
		t.Fatalf("change: %d %s", res.status, res.body)
	}
	if verified("old@example.com") {
		t.Fatal("verified before the link was used")
	}
	token, _ = e.pageLink("new@example.com", "confirm-email")
	if res := e.client().do("POST", "/api/email/confirm", map[string]any{"token": token, "password": "Sakura-Saku-Pass-8!"}); res.status != 200 {
		t.Fatalf("confirm: %d %s", res.status, res.body)
	}
	if !verified("invited@example.com") || !verified("made@example.com") || !verified("new@example.com") || verified(ownerID) {
		t.Fatal("a used link does not verify its address (or one without did)")
	}
	if e.account("made@example.com").EmailVerifiedAt.IsZero() {
		t.Fatal("the fact is not stored on the account")
	}
	// The tenant verifies its domain: every address in it is verified.
	verifyDomain(t, owner, dns, "example.com")
	if !verified(ownerID) {
		t.Fatal("an address in a verified domain is not verified")
	}
}

// Only owners claim domains, and PUT never adds one.
func domainsOnlyOwnersClaimAndNotByPUT(t *testing.T, e *env, dns *dnstest.Server) {
	e.withUser("admin@example.com", "admin")
	admin := e.signedIn("admin@example.com", userPW)
	if res := admin.do("POST", "/api/admin/tenant/domains", map[string]any{"domain": "example.org"}); res.status != 403 {
		t.Fatalf("an admin asks for a domain: %d %s", res.status, res.body)
	}
	if res := admin.do("POST", "/api/admin/tenant/domains/example.com/verify", nil); res.status != 403 {
		t.Fatalf("an admin verifies: %d %s", res.status, res.body)
	}
	owner := e.signedIn(ownerID, ownerPW)
	set := owner.do("GET", "/api/admin/tenant", nil).json(t)
	set["domains"], set["confirm_password"] = []string{"example.com", "example.org"}, ownerPW
	res := owner.do("PUT", "/api/admin/tenant", set)
	if res.status != 422 || !strings.Contains(string(res.body), `"field":"domains","code":"unverified"`) {
		t.Fatalf("PUT adds a domain: %d %s", res.status, res.body)
	}
	// A pending claim is not a domain of the tenant yet.
	addDomain(t, owner, "example.org", 201)
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "x@example.org"}); res.status != 422 {
		t.Fatalf("an address in a pending domain: %d %s", res.status, res.body)
	}
	if res := owner.do("PUT", "/api/admin/tenant", set); res.status != 422 {
		t.Fatalf("PUT adds a pending domain: %d %s", res.status, res.body)
	}
	// Once verified it is one.
	dns.SetTXT("example.org", owner.do("GET", "/api/admin/tenant", nil).json(t)["domain_status"].([]any)[1].(map[string]any)["txt_value"].(string))
	if res := owner.do("POST", "/api/admin/tenant/domains/example.org/verify", nil); res.status != 200 {
		t.Fatalf("verify: %d %s", res.status, res.body)
	}
	if res := owner.do("POST", "/api/admin/accounts", map[string]any{"login_id": "x@example.org"}); res.status != 201 {
		t.Fatalf("an address in a verified domain: %d %s", res.status, res.body)
	}
}

// A name that does not resolve is "not verified", never an internal error.
func domainsLookupFailureIsNotVerified(t *testing.T, e *env, dns *dnstest.Server) {
	owner := e.signedIn(ownerID, ownerPW)
	addDomain(t, owner, "nxdomain.example", 201)
	if res := owner.do("POST", "/api/admin/tenant/domains/nxdomain.example/verify", nil); res.status != 422 || res.code(t) != "domain_not_verified" {
		t.Fatalf("NXDOMAIN: %d %s", res.status, res.body)
	}
	dns.Close() // the resolver's server is gone
	if res := owner.do("POST", "/api/admin/tenant/domains/nxdomain.example/verify", nil); res.status != 422 || res.code(t) != "domain_not_verified" {
		t.Fatalf("no DNS server: %d %s", res.status, res.body)
	}
}

// A bulk row that creates an address in another tenant's domain is refused when it is
// written (the rights checked at that moment).
func domainsBulkCreateRefusedInHeldDomain(t *testing.T, e *env, dns *dnstest.Server) {
	ctx := context.Background()
	owner := e.signedIn(ownerID, ownerPW)
	cloud, boss := e.secondTenant("boss@cloud.example")
	dropDomains(t, boss)
	verifyDomain(t, owner, dns, "example.com")
	bossAcct := e.account("boss@cloud.example")
	row := account.BulkChange{JobID: "job1", Line: 2, TenantID: cloud.ID, Actor: bossAcct.LoginID, ActorID: bossAcct.ID, Mode: "create",
		LoginID: "bulk@example.com", Password: "Sakura-Saku-Pass-8!", HasPassword: true, Settings: account.Settings{}}
	got, err := e.svc.Bulk.ApplyBulkChange(ctx, row)
	if err != nil || got != account.BulkForbidden {
		t.Fatalf("a bulk row in another tenant's domain: %q %v", got, err)
	}
	if _, err := account.FindAccount(ctx, e.store, "bulk@example.com"); err == nil {
		t.Fatal("the account was created")
	}
	row.LoginID, row.Line = "bulk@gmail.example", 3
	if got, err := e.svc.Bulk.ApplyBulkChange(ctx, row); err != nil || got != account.BulkCreated {
		t.Fatalf("a bulk row elsewhere: %q %v", got, err)
	}
}

// DELETE takes a pending claim (or a domain) off the tenant, confirmed; a verified domain
// is released.
func domainsRemoveClaimOrDomain(t *testing.T, e *env, dns *dnstest.Server) {
	owner := e.signedIn(ownerID, ownerPW)
	_, boss := e.secondTenant("boss@cloud.example")
	addDomain(t, owner, "typo.example", 201)
	if res := owner.do("DELETE", "/api/admin/tenant/domains/typo.example", map[string]any{}); res.status != 422 {
		t.Fatalf("without confirm_password: %d %s", res.status, res.body)
	}
	if res := owner.do("DELETE", "/api/admin/tenant/domains/typo.example", map[string]any{"confirm_password": "wrong"}); res.status != 403 || res.code(t) != "invalid_confirm_password" {
		t.Fatalf("a wrong password: %d %s", res.status, res.body)
	}
	if res := owner.do("DELETE", "/api/admin/tenant/domains/typo.example", map[string]any{"confirm_password": ownerPW}); res.status != 204 {
		t.Fatalf("remove a pending claim: %d %s", res.status, res.body)
	}
	if _, ok := domainStatus(t, owner)["typo.example"]; ok {
		t.Fatal("the claim is still there")
	}
	if res := owner.do("DELETE", "/api/admin/tenant/domains/typo.example", map[string]any{"confirm_password": ownerPW}); res.status != 404 {
		t.Fatalf("remove it again: %d %s", res.status, res.body)
	}
	verifyDomain(t, owner, dns, "example.com")
	if res := boss.do("DELETE", "/api/admin/tenant/domains/example.com", map[string]any{"confirm_password": ownerPW}); res.status != 404 {
		t.Fatalf("another tenant removes a domain: %d %s", res.status, res.body)
	}
	if res := owner.do("DELETE", "/api/admin/tenant/domains/example.com", map[string]any{"confirm_password": ownerPW}); res.status != 204 {
		t.Fatalf("remove a verified domain: %d %s", res.status, res.body)
	}
	if !strings.Contains(e.auditActions(t), "domain.remove:ok") {
		t.Fatal("not audited")
	}
	verifyDomain(t, boss, dns, "example.com") // released
}
