package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// RequireDovecotEnv makes the Dovecot test fail, rather than skip, without Dovecot
// (infra/test.sh installs dovecot-imapd and sets it).
const RequireDovecotEnv = "KAGIYA_REQUIRE_DOVECOT"

// dovecotConf is the configuration of docs/integrations.md, made to run unprivileged on
// a free port: the Lua passdb (infra/dovecot/kagiya-auth.lua) asks Kagiya; Dovecot's auth
// cache keeps a right password for a while, so a polling mail client costs no check
// each time.
const dovecotConf = `base_dir = {{dir}}/run
state_dir = {{dir}}/state
log_path = {{dir}}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {{user}}
default_internal_user = {{user}}
default_internal_group = {{group}}
auth_cache_size = 1M
auth_cache_ttl = 5 min
auth_cache_negative_ttl = 0
auth_failure_delay = 0
auth_verbose = yes
mail_uid = {{user}}
mail_gid = {{group}}
# docs/integrations.md's 11-vmail-uid.conf, written by its printf step (writeVmailUID)
!include {{dir}}/vmail-uid.conf
mail_location = maildir:{{dir}}/mail/%d/%n
mail_plugins = quota
protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
plugin {
  quota = count:User quota
  quota_vsizes = yes
}
service imap-login {
  chroot =
  inet_listener imap {
    port = {{port}}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
  # Tests only: no growing delay for the failures this test makes from one address.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth-worker {
  user = $default_internal_user
}
passdb {
  driver = lua
  args = file={{dir}}/kagiya-auth.lua blocking=yes cache_key=%u
}
userdb {
  driver = prefetch
}
`

// startDovecot runs Dovecot as an unprivileged process (when the test runs as root, as
// the dovecot system user, whose UID is below 500 as vmail's is, else nobody) on a free
// port against the local server at base; it returns the IMAP address.
// conf adds lines to kagiya-auth.conf; "{{dir}}" in them is Dovecot's directory, and
// files are written into it first (name to content).
func startDovecot(t *testing.T, base, secret string, conf []string, files map[string][]byte) string {
	t.Helper()
	dovecot, err := exec.LookPath("dovecot")
	if err != nil {
		dovecot = "/usr/sbin/dovecot"
	}
	if _, err := os.Stat(dovecot); err != nil || !fileExists("/usr/lib/dovecot/imap") || !fileExists("/usr/lib/dovecot/modules/auth/libauthdb_lua.so") ||
		!fileExists("/usr/share/lua/5.4/socket.lua") || !fileExists("/usr/lib/x86_64-linux-gnu/lua/5.4/cjson.so") && !fileExists("/usr/lib/aarch64-linux-gnu/lua/5.4/cjson.so") {
		const need = "dovecot-imapd dovecot-auth-lua lua-socket lua-sec lua-cjson"
		if os.Getenv(RequireDovecotEnv) != "" {
			t.Fatal("Dovecot with Lua is not installed (" + need + "), and " + RequireDovecotEnv + " is set")
		}
		t.Skip("Dovecot with Lua is not installed (apt-get install " + need + "); infra/test.sh installs it")
	}
	dir, err := os.MkdirTemp("", "kagiya-dovecot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	script, err := os.ReadFile("../dovecot/kagiya-auth.lua")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kagiya-auth.lua"), script, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	authConf := "url = " + base + "\nsecret = " + secret + "\n"
	for _, line := range conf {
		authConf += strings.ReplaceAll(line, "{{dir}}", dir) + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "kagiya-auth.conf"), []byte(authConf), 0o600); err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	uid, gid, userName, groupName := os.Getuid(), os.Getgid(), me.Username, me.Username
	if g, err := user.LookupGroupId(me.Gid); err == nil {
		groupName = g.Name
	}
	if uid == 0 { // never as root; the user must then own the directory
		uid, gid, userName = 65534, 65534, "nobody"
		if u, err := user.Lookup("dovecot"); err == nil {
			fmt.Sscan(u.Uid, &uid)
			fmt.Sscan(u.Gid, &gid)
			userName = u.Username
		}
		if g, err := user.LookupGroupId(fmt.Sprint(gid)); err == nil {
			groupName = g.Name
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	writeVmailUID(t, userName, filepath.Join(dir, "vmail-uid.conf"))
	mainConf := strings.NewReplacer("{{dir}}", dir, "{{user}}", userName, "{{group}}", groupName, "{{port}}", fmt.Sprint(port)).Replace(dovecotConf)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(mainConf), 0o600); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
	cmd := exec.Command(dovecot, "-F", "-c", confPath)
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Logf("dovecot.log:\n%s", log)
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "dovecot.log"))
			t.Fatalf("dovecot exited:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("dovecot did not listen in 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeVmailUID runs docs/integrations.md's step that lets mail belong to vmail's UID
// (a system UID, below Dovecot's default first_valid_uid of 500), for userName instead of
// vmail and into path instead of /etc/dovecot/conf.d.
func writeVmailUID(t *testing.T, userName, path string) {
	t.Helper()
	doc, err := os.ReadFile("../../docs/integrations.md")
	if err != nil {
		t.Fatal(err)
	}
	const target = "/etc/dovecot/conf.d/11-vmail-uid.conf"
	for _, line := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(line, "printf 'first_valid_uid = ") && strings.HasSuffix(line, "> "+target) {
			step := strings.NewReplacer("id -u vmail", "id -u "+userName, target, path).Replace(line)
			if out, err := exec.Command("sh", "-c", step).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v %s", step, err, out)
			}
			return
		}
	}
	t.Fatal("docs/integrations.md has no step writing first_valid_uid to " + target)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// imapLogin logs in over IMAP and, when it succeeds, asks for the INBOX quota; it
// returns whether the login passed and the quota line.
func imapLogin(t *testing.T, addr, id, pw string) (bool, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	line := func() string {
		s, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("imap: %v", err)
		}
		return s
	}
	if g := line(); !strings.HasPrefix(g, "* OK") {
		t.Fatalf("greeting: %q", g)
	}
	quoted := func(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }
	fmt.Fprintf(c, "a1 LOGIN %s %s\r\n", quoted(id), quoted(pw))
	var status string
	for status = line(); strings.HasPrefix(status, "* "); status = line() {
	}
	if !strings.HasPrefix(status, "a1 OK") {
		return false, status
	}
	fmt.Fprintf(c, "a2 GETQUOTAROOT INBOX\r\n")
	quota := ""
	for l := line(); !strings.HasPrefix(l, "a2 "); l = line() {
		if strings.HasPrefix(l, "* QUOTA ") {
			quota = strings.TrimSpace(l)
		}
	}
	fmt.Fprintf(c, "a3 LOGOUT\r\n")
	return true, quota
}

// serviceChecks counts the service.verify events of the audit log.
func serviceChecks(t *testing.T, api func(method, path string, body any) *http.Response) int {
	t.Helper()
	res := api("GET", "/api/admin/audit?limit=200", nil)
	defer res.Body.Close()
	var out struct {
		Events []struct{ Action string } `json:"events"`
	}
	json.NewDecoder(res.Body).Decode(&out)
	n := 0
	for _, e := range out.Events {
		if e.Action == "service.verify" {
			n++
		}
	}
	return n
}

// dovecotCredential makes the service credential Dovecot's passdb checks with, as the
// owner does on the integrations page, and returns its secret.
func dovecotCredential(t *testing.T, owner func(method, path string, body any) *http.Response) string {
	t.Helper()
	res := owner("POST", "/api/admin/service-credentials", map[string]string{"name": "Dovecot", "confirm_password": "Kagi-2026-Tokyo!"})
	var cred struct{ Secret string }
	json.NewDecoder(res.Body).Decode(&cred)
	res.Body.Close()
	if res.StatusCode != 201 || cred.Secret == "" {
		t.Fatalf("service credential: %d", res.StatusCode)
	}
	return cred.Secret
}

// Dovecot, for real: an IMAP login through Dovecot's Lua passdb and Kagiya's
// service check, with the right password, a wrong one, an app password, and a locked
// account; the quota comes from quota_gb, and the auth cache saves the second check.
func TestDovecotLogsInThroughKagiya(t *testing.T) {
	t.Parallel()
	base := startServer(t)
	owner := apiAs(t, base, "owner@example.com", "Kagi-2026-Tokyo!")
	secret := dovecotCredential(t, owner)
	const pw = "Umi-no-Kaze-2026!"
	for _, id := range []string{"mail@example.com", "locked@example.com", "mfa@example.com"} {
		res := owner("POST", "/api/admin/accounts", map[string]any{"login_id": id, "role": "user", "password": pw, "quota_gb": 5})
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("create %s: %d", id, res.StatusCode)
		}
	}
	addr := startDovecot(t, base, secret, nil, nil)

	ok, quota := imapLogin(t, addr, "mail@example.com", pw)
	if !ok || !strings.Contains(quota, "STORAGE 0 5242880") {
		t.Fatalf("right password: %v %q", ok, quota)
	}
	before := serviceChecks(t, owner)
	if before != 1 {
		t.Fatalf("%d service checks after one login", before)
	}
	if ok, _ := imapLogin(t, addr, "mail@example.com", pw); !ok {
		t.Fatal("right password, second time")
	}
	if after := serviceChecks(t, owner); after != before {
		t.Fatalf("the auth cache did not keep the right password: %d checks, then %d", before, after)
	}
	if ok, status := imapLogin(t, addr, "mail@example.com", "Wrong-Guess-0000!"); ok || !strings.Contains(status, "AUTHENTICATIONFAILED") {
		t.Fatalf("wrong password: %v %q", ok, status)
	}

	// Locked by ten wrong passwords through IMAP: the right one is refused too.
	for i := range 10 {
		if ok, _ := imapLogin(t, addr, "locked@example.com", fmt.Sprintf("Wrong-Guess-%04d!", i)); ok {
			t.Fatal("a wrong password logged in")
		}
	}
	if ok, _ := imapLogin(t, addr, "locked@example.com", pw); ok {
		t.Fatal("a locked account logged in over IMAP")
	}
	if link := mailedLink(t, base, "locked@example.com", "unlock"); link == "" {
		t.Fatal("no unlock email after the lock through IMAP")
	}

	// A second factor: the main password is refused, an app password works.
	mfa := apiAs(t, base, "mfa@example.com", pw)
	res := mfa("POST", "/api/me/mfa/totp/setup", map[string]string{"current_password": pw})
	var setup struct{ Secret string }
	json.NewDecoder(res.Body).Decode(&setup)
	res.Body.Close()
	code, _ := totp.GenerateCode(setup.Secret, time.Now())
	if res := mfa("POST", "/api/me/mfa/totp/confirm", map[string]string{"code": code}); res.StatusCode != 200 {
		t.Fatalf("confirm second factor: %d", res.StatusCode)
	}
	if ok, _ := imapLogin(t, addr, "mfa@example.com", pw); ok {
		t.Fatal("the main password of an account with a second factor logged in over IMAP")
	}
	res = mfa("POST", "/api/me/app-passwords", map[string]string{"name": "Thunderbird", "current_password": pw})
	var app struct{ Password string }
	json.NewDecoder(res.Body).Decode(&app)
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("app password: %d", res.StatusCode)
	}
	if ok, quota := imapLogin(t, addr, "mfa@example.com", app.Password); !ok || quota == "" {
		t.Fatalf("app password over IMAP: %v %q", ok, quota)
	}
}
