package bulk_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kagiya/kagiya/shared/account"
	"github.com/kagiya/kagiya/shared/bulk"
)

// uploadWith is upload with every start option.
func (e *env) uploadWith(t testing.TB, o bulk.StartOptions, file []byte) (bulk.Job, string) {
	t.Helper()
	o.Size = int64(len(file))
	up, err := e.jobs.Start(context.Background(), e.owner, o, "192.0.2.77")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", up.URL, bytes.NewReader(file))
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return up.Job, bulk.EventKey(up.Job.Key)
}

// importFile has one account per scheme, each hash of "Mori-no-Kuma-42!" (made by
// Dovecot's doveadm pw and Debian's mkpasswd), and one of "kuma", which breaks the
// tenant's rules.
const importFile = "mail_account,password_hash,mail_capacity\r\n" +
	"sha512,{SHA512-CRYPT}$6$Ys.dRCgGW8Q32rU0$mq.UQob7G0X8IOWLLETZujSwmifHZSE/Dijbj/ePsBUJrpIJ4waKzAGOogYNePZUUssxMHkgOA2Kid4uXDw5A1,10\r\n" +
	"blf,{BLF-CRYPT}$2y$05$c4eFPnoQTlf9NAednv85Buy/tHy918WAeyBMlX4KGAsAmlnEwQ7sW,5\r\n" +
	"ssha256,{SSHA256}EPq+3rDu61giZ8L7B7xsEo5QA2M3BZKJ/DN992a6Tdg+Lxk/,1\r\n" +
	"pbkdf2,{PBKDF2}$1$0lNnebQ5LAik.cmX$5000$7b8e4a9c03cb2c97efbd22c924a8025ce4299c84,1\r\n" +
	"argon2i,\"{ARGON2I}$argon2i$v=19$m=32768,t=4,p=1$xcuBfnYwnIOOzR7tKIQcmg$4yMnm0VdpJjpXYPLq7PU9j0I4PmNlOfTkgjS/iOBzWo\",1\r\n" +
	"crypt5,$5$KBETihiJrSNH2gDV$meYKzE0Mab0auFGFzYhkJnAKzM1NuRINlN0eIVWOc6B,1\r\n" +
	"md5crypt,{MD5-CRYPT}$1$kI9sXty3$Muy4dnnya.7zvMigyqCyW/,1\r\n" +
	"sha,{SHA}AFb7WWNltIeCgvqZhYLtB3ZqUpk=,1\r\n" +
	"short,{SSHA256}6hgp0fbeLt4yNpRfzKQK18TLiT349y/l4DCm6vWuyEvNH1IW,1\r\n"

func TestImportedHashesSignInAndAreUpgraded(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, nb, 0)
			// Without allow_weak_hashes the weak rows reject the file, and nothing changes.
			job, key := e.uploadWith(t, bulk.StartOptions{Filename: "dovecot.csv", Mode: "create"}, []byte(importFile))
			if err := e.runner.Run(ctx, key); err != nil {
				t.Fatal(err)
			}
			j := e.job(t, job.ID)
			if j.State != bulk.StateRejected || len(j.Errors) != 2 || j.Errors[0].Code != "hash_weak" || j.Errors[0].Column != "password_hash" || j.Errors[0].Line != 8 {
				t.Fatalf("weak hashes without permission: %s %+v", j.State, j.Errors)
			}
			if _, err := account.FindAccount(ctx, e.store, "sha512@example.com"); err == nil {
				t.Fatal("a rejected file created an account")
			}
			job, key = e.uploadWith(t, bulk.StartOptions{Filename: "dovecot.csv", Mode: "create", AllowWeakHashes: true}, []byte(importFile))
			if err := e.runner.Run(ctx, key); err != nil {
				t.Fatal(err)
			}
			if j := e.job(t, job.ID); j.State != bulk.StateSucceeded || j.Created != 9 || j.Imported != 9 {
				t.Fatalf("import: %s created %d imported %d %+v", j.State, j.Created, j.Imported, j.Errors)
			}
			for _, c := range []struct{ id, pw, result string }{
				{"sha512", "Mori-no-Kuma-42!", ""}, {"blf", "Mori-no-Kuma-42!", ""}, {"ssha256", "Mori-no-Kuma-42!", ""},
				{"pbkdf2", "Mori-no-Kuma-42!", ""}, {"argon2i", "Mori-no-Kuma-42!", ""}, {"crypt5", "Mori-no-Kuma-42!", ""},
				{"md5crypt", "Mori-no-Kuma-42!", account.ReasonForced}, {"sha", "Mori-no-Kuma-42!", account.ReasonForced},
				{"short", "kuma", account.ReasonPolicy},
			} {
				id := c.id + "@example.com"
				if _, err := e.svc.SignIn.Login(ctx, id, "Wrong-Pass-000!", account.Client{IP: "192.0.2.1"}); account.CodeOf(err) != account.CodeInvalidCredentials {
					t.Fatalf("%s: a wrong password: %v", id, err)
				}
				res, err := e.svc.SignIn.Login(ctx, id, c.pw, account.Client{IP: "192.0.2.1"})
				if err != nil || res.Reason != c.result || (c.result == "") != (res.Token != "") {
					t.Fatalf("%s: sign-in %+v %v", id, res, err)
				}
				a, _ := account.FindAccount(ctx, e.store, id)
				// A password that breaks the rules keeps its imported hash until the change
				// replaces it, so the next sign-in asks again.
				if upgraded := strings.HasPrefix(a.PasswordHash, "$argon2id$"); upgraded == (c.result == account.ReasonPolicy) {
					t.Fatalf("%s: upgraded %v: %.20s", id, upgraded, a.PasswordHash)
				}
				again, err := e.svc.SignIn.Login(ctx, id, c.pw, account.Client{IP: "192.0.2.1"})
				if err != nil || again.Reason != c.result {
					t.Fatalf("%s: the second sign-in: %+v %v", id, again, err)
				}
				if c.result == account.ReasonPolicy {
					if _, err := e.svc.SignIn.CompletePasswordChange(ctx, again.Challenge, "Atarashii-Kuma-42!", account.Client{IP: "192.0.2.1"}); err != nil {
						t.Fatal(err)
					}
					if res, err := e.svc.SignIn.Login(ctx, id, "Atarashii-Kuma-42!", account.Client{IP: "192.0.2.1"}); err != nil || res.Token == "" {
						t.Fatalf("%s: after the change: %+v %v", id, res, err)
					}
				}
			}
			events, _, _ := e.store.ListAudit(ctx, e.owner.Account.TenantID, "", 200)
			upgrades := 0
			for _, ev := range events {
				if ev.Action == "password.upgrade" {
					upgrades++
				}
			}
			if upgrades != 8 { // all but the one whose password breaks the rules
				t.Fatalf("%d upgrades audited", upgrades)
			}
		})
	}
}

func TestImportedHashProblemsRejectTheFile(t *testing.T) {
	e := newEnv(t, backends(t)["bbolt"], 1)
	file := "mail_account,password,password_hash\r\n" +
		"a1,,{PLAIN}Mori-no-Kuma-42!\r\n" +
		"a2,Mori-no-Kuma-42!,{SSHA256}EPq+3rDu61giZ8L7B7xsEo5QA2M3BZKJ/DN992a6Tdg+Lxk/\r\n" +
		"a3,,$2b$14$3GbRDWFAILfESNq3E4eSa.P2AwIrimRU9lHTd8AzJoxX5l3sOxPWW\r\n" +
		"a4,,{CRAM-MD5}3d5097d37ee2c0817038b6673912c361e7000958a94e9ef1edea2638499f470a\r\n" +
		"a5,,$6$broken\r\n" +
		"user000,,{SSHA256}EPq+3rDu61giZ8L7B7xsEo5QA2M3BZKJ/DN992a6Tdg+Lxk/\r\n"
	job, key := e.uploadWith(t, bulk.StartOptions{Filename: "bad.csv", Mode: "create", AllowWeakHashes: true}, []byte(file))
	if err := e.runner.Run(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	j := e.job(t, job.ID)
	var got []string
	for _, p := range j.Errors {
		got = append(got, p.Code)
	}
	want := "hash_plaintext password_and_hash hash_cost hash_unsupported hash_malformed exists"
	if j.State != bulk.StateRejected || strings.Join(got, " ") != want {
		t.Fatalf("%s: %v, want %s", j.State, got, want)
	}
	if !strings.Contains(j.Errors[2].Message, "bcrypt cost 12") || !strings.Contains(j.Errors[0].Message, "password column") {
		t.Fatalf("messages: %q / %q", j.Errors[2].Message, j.Errors[0].Message)
	}
}

func TestCreateJobInvitesRowsWithoutPasswords(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, nb, 0)
			file := "mail_account,password,mail_capacity\r\nshinjin1,,5\r\nshinjin2,Atarashii-Pass-2!,5\r\nshinjin3,,1\r\n"
			job, key := e.uploadWith(t, bulk.StartOptions{Filename: "new.csv", Mode: "create"}, []byte(file))
			if err := e.runner.Run(ctx, key); err != nil {
				t.Fatal(err)
			}
			if j := e.job(t, job.ID); j.State != bulk.StateRejected || len(j.Errors) != 2 || j.Errors[0].Code != "required" {
				t.Fatalf("without invite: %s %+v", j.State, j.Errors)
			}
			job, key = e.uploadWith(t, bulk.StartOptions{Filename: "new.csv", Mode: "create", Invite: true}, []byte(file))
			if err := e.runner.Run(ctx, key); err != nil {
				t.Fatal(err)
			}
			if j := e.job(t, job.ID); j.State != bulk.StateSucceeded || j.Created != 3 || j.Invited != 2 {
				t.Fatalf("with invite: %s created %d invited %d %+v", j.State, j.Created, j.Invited, j.Errors)
			}
			for _, c := range []struct {
				id      string
				invited bool
			}{{"shinjin1@example.com", true}, {"shinjin2@example.com", false}, {"shinjin3@example.com", true}} {
				a, err := account.FindAccount(ctx, e.store, c.id)
				if err != nil || a.Invited() != c.invited || (a.PasswordHash == "") != c.invited {
					t.Fatalf("%s: invited %v hash %q %v", c.id, a.Invited(), a.PasswordHash, err)
				}
				got := false
				for _, m := range e.mailbox.Messages(c.id) {
					got = got || strings.Contains(m.Text, "/invite.html?token=")
				}
				if got != c.invited {
					t.Fatalf("%s: invitation mailed %v", c.id, got)
				}
			}
		})
	}
}

// A mail-only person may never sign in to the site: a right password through the
// service check upgrades the imported hash as a sign-in does, audited, and keeps one
// whose password breaks the tenant's rules.
func TestImportedHashIsUpgradedByTheServiceCheck(t *testing.T) {
	for name, nb := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, nb, 0)
			file := "mail_account,password_hash\r\n" +
				"ssha256,{SSHA256}EPq+3rDu61giZ8L7B7xsEo5QA2M3BZKJ/DN992a6Tdg+Lxk/\r\n" +
				"short,{SSHA256}6hgp0fbeLt4yNpRfzKQK18TLiT349y/l4DCm6vWuyEvNH1IW\r\n"
			job, key := e.uploadWith(t, bulk.StartOptions{Filename: "mail.csv", Mode: "create"}, []byte(file))
			if err := e.runner.Run(ctx, key); err != nil {
				t.Fatal(err)
			}
			if j := e.job(t, job.ID); j.State != bulk.StateSucceeded || j.Imported != 2 {
				t.Fatalf("import: %s %+v", j.State, j.Errors)
			}
			cred, err := e.svc.Integrations.CreateServiceCredential(ctx, e.owner, "Dovecot", "Kagi-2026-Tokyo!", "192.0.2.9")
			if err != nil {
				t.Fatal(err)
			}
			check := func(id, pw string) error {
				_, err := e.svc.Integrations.Verify(ctx, cred.Secret, account.ServiceCheck{LoginID: id, Password: pw, Protocol: "imap", ClientIP: "192.0.2.10"})
				return err
			}
			if err := check("ssha256@example.com", "Wrong-Pass-000!"); account.CodeOf(err) != account.CodeInvalidCredentials {
				t.Fatalf("a wrong password: %v", err)
			}
			if a, _ := account.FindAccount(ctx, e.store, "ssha256@example.com"); !strings.HasPrefix(a.PasswordHash, "{SSHA256}") {
				t.Fatalf("a wrong password changed the hash: %.20s", a.PasswordHash)
			}
			if err := check("ssha256@example.com", "Mori-no-Kuma-42!"); err != nil {
				t.Fatalf("the right password: %v", err)
			}
			a, _ := account.FindAccount(ctx, e.store, "ssha256@example.com")
			if !strings.HasPrefix(a.PasswordHash, "$argon2id$") {
				t.Fatalf("not upgraded: %.20s", a.PasswordHash)
			}
			if err := check("ssha256@example.com", "Mori-no-Kuma-42!"); err != nil {
				t.Fatalf("the right password after the upgrade: %v", err)
			}
			if err := check("short@example.com", "kuma"); err != nil {
				t.Fatalf("a right password that breaks the rules: %v", err)
			}
			if a, _ := account.FindAccount(ctx, e.store, "short@example.com"); !strings.HasPrefix(a.PasswordHash, "{SSHA256}") {
				t.Fatalf("a password that breaks the rules was upgraded: %.20s", a.PasswordHash)
			}
			events, _, _ := e.store.ListAudit(ctx, e.owner.Account.TenantID, "", 200)
			var upgrades []string
			for _, ev := range events {
				if ev.Action == "password.upgrade" {
					upgrades = append(upgrades, ev.Target+" "+ev.Result)
				}
			}
			if len(upgrades) != 1 || upgrades[0] != "ssha256@example.com ok:ssha256 to argon2id" {
				t.Fatalf("upgrades audited: %q", upgrades)
			}
		})
	}
}
