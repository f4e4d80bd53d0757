// Package dnstest runs a small authoritative DNS server in process (github.com/miekg/dns)
// on a free loopback port, for tests and the local server: it answers TXT queries from
// the records it is given, and NXDOMAIN for every other name. Resolver gives a
// net.Resolver that asks it, so the code under test looks records up exactly as in
// production.
package dnstest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Server is a running DNS server.
type Server struct {
	Addr string // host:port (UDP and TCP)

	mu      sync.Mutex
	records map[string][]string // fully qualified lower-case name → TXT strings
	servers []*dns.Server
}

// Start serves on a free port of 127.0.0.1, UDP and TCP, until Close.
func Start() (*Server, error) {
	pc, ln, err := listen()
	if err != nil {
		return nil, err
	}
	addr := pc.LocalAddr().String()
	s := &Server{Addr: addr, records: map[string][]string{}}
	udp := &dns.Server{PacketConn: pc, Handler: s}
	tcp := &dns.Server{Listener: ln, Handler: s}
	s.servers = []*dns.Server{udp, tcp}
	started := make(chan error, 2)
	for _, srv := range s.servers {
		srv.NotifyStartedFunc = func() { started <- nil }
		go func() {
			if err := srv.ActivateAndServe(); err != nil {
				started <- err
			}
		}()
	}
	for range s.servers {
		if err := <-started; err != nil {
			s.Close()
			return nil, fmt.Errorf("dnstest: %w", err)
		}
	}
	return s, nil
}

// listen takes a free UDP port and the same TCP port (tried a few times: the TCP port
// may be someone else's).
func listen() (net.PacketConn, net.Listener, error) {
	var err error
	for range 20 {
		var pc net.PacketConn
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			break
		}
		var ln net.Listener
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			return pc, ln, nil
		}
		pc.Close()
	}
	return nil, nil, fmt.Errorf("dnstest: %w", err)
}

// SetTXT replaces name's TXT records (none: the name no longer exists).
func (s *Server) SetTXT(name string, txt ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[dns.Fqdn(strings.ToLower(name))] = txt
}

// Close stops the server.
func (s *Server) Close() {
	for _, srv := range s.servers {
		srv.Shutdown()
	}
}

// Resolver is a net.Resolver that sends every query to the server at addr (this one's
// Addr, or any DNS server's host:port).
func Resolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	s.mu.Lock()
	for _, question := range q.Question {
		txt, ok := s.records[strings.ToLower(question.Name)]
		if !ok || len(txt) == 0 {
			m.Rcode = dns.RcodeNameError
			continue
		}
		if question.Qtype != dns.TypeTXT {
			continue // the name exists, with no records of that type
		}
		for _, t := range txt {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0},
				Txt: chunks(t)})
		}
	}
	s.mu.Unlock()
	w.WriteMsg(m)
}

// chunks splits a record's text into the 255-byte strings a TXT record holds.
func chunks(t string) []string {
	var out []string
	for len(t) > 255 {
		out, t = append(out, t[:255]), t[255:]
	}
	return append(out, t)
}
