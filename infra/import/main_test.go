package main

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// A passwd-file as Dovecot's doveadm pw and a hosting panel write it.
const passwdFile = `# mail accounts of example.com
taro@example.com:{SHA512-CRYPT}$6$sRIcIDc4BeXznpvN$bP6WNugkdHYpYPzwL5B2j3GDb0Rh1D177QmQzhCeGwWydHKgd4RnNLDv8AJYMbpmBQWOmqmxoTXOEHeIubjfM0:5000:5000::/var/mail/taro::userdb_quota_rule=*:storage=10G
hanako:{BLF-CRYPT}$2y$05$c4eFPnoQTlf9NAednv85Buy/tHy918WAeyBMlX4KGAsAmlnEwQ7sW:5000:5000::/var/mail/hanako::userdb_quota_rule=*:storage=3G
jiro:{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$SKYlLh107HqbsrsIv0jm7Q$bBssrC91PJIVZn2/414kCUYXDqJBAMy0p8wfoektKz8:5000:5000::/var/mail/jiro::userdb_quota_rule=*:storage=512M
old:{SHA}AFb7WWNltIeCgvqZhYLtB3ZqUpk=
plain:{PLAIN}Mori-no-Kuma-42!:5000:5000::/var/mail/plain::userdb_quota_rule=*:storage=20G
`

func TestConvertsAPasswdFile(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run("-", "-", strings.NewReader(passwdFile), &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"mail_account", "password", "password_hash", "mail_capacity"},
		{"taro@example.com", "", "{SHA512-CRYPT}$6$sRIcIDc4BeXznpvN$bP6WNugkdHYpYPzwL5B2j3GDb0Rh1D177QmQzhCeGwWydHKgd4RnNLDv8AJYMbpmBQWOmqmxoTXOEHeIubjfM0", "10"},
		{"hanako", "", "{BLF-CRYPT}$2y$05$c4eFPnoQTlf9NAednv85Buy/tHy918WAeyBMlX4KGAsAmlnEwQ7sW", "5"},
		{"jiro", "", "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$SKYlLh107HqbsrsIv0jm7Q$bBssrC91PJIVZn2/414kCUYXDqJBAMy0p8wfoektKz8", "1"},
		{"old", "", "{SHA}AFb7WWNltIeCgvqZhYLtB3ZqUpk=", ""},
		{"plain", "Mori-no-Kuma-42!", "", "20"},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows: %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: %q, want %q", i, rows[i], want[i])
		}
	}
	for _, w := range []string{"line 3 (hanako): quota 3 GB rounded up to 5 GB", "line 4 (jiro): quota 0.5 GB rounded up to 1 GB", "allow_weak_hashes", "line 6 (plain): a plaintext password"} {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("no warning %q in\n%s", w, errOut.String())
		}
	}
}

func TestRefusesWhatCannotBeImported(t *testing.T) {
	var out, errOut bytes.Buffer
	bad := "a:{CRAM-MD5}3d5097d37ee2c0817038b6673912c361e7000958a94e9ef1edea2638499f470a\n" +
		"b:$2b$14$3GbRDWFAILfESNq3E4eSa.P2AwIrimRU9lHTd8AzJoxX5l3sOxPWW\n" +
		"c:{SSHA}f8SudOYFYHNZaOryJgxuZzD9LSazIqRQ:1:1::/h::userdb_quota_rule=*:storage=200G\n" +
		"d:{SSHA}f8SudOYFYHNZaOryJgxuZzD9LSazIqRQ\n"
	if err := run("-", "-", strings.NewReader(bad), &out, &errOut); err == nil || out.Len() != 0 {
		t.Fatalf("converted a file with errors (%v): %s", err, out.String())
	}
	for _, w := range []string{"line 1 (a): hash_unsupported", "line 2 (b): the hash's cost is above bcrypt cost 12", "line 3 (c): a quota of 200 GB is above"} {
		if !strings.Contains(errOut.String(), w) {
			t.Errorf("no error %q in\n%s", w, errOut.String())
		}
	}
}
