package allinone_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	dnsarea "github.com/gostack/gostack/dns/area"
)

// The DNS area's configuration reaches the server: TSIG keys, the
// transfer ACL and also_notify targets; the nameservers show in the
// default pool.
func TestDNSTransferAndNotify(t *testing.T) {
	// A secondary that records the NOTIFYs it gets.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
	notified := make(chan *mdns.Msg, 10)
	sec := &mdns.Server{PacketConn: pc, TsigSecret: map[string]string{"xfr.": secret},
		Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
			if r.Opcode == mdns.OpcodeNotify && w.TsigStatus() == nil && r.IsTsig() != nil {
				notified <- r
			}
			m := new(mdns.Msg)
			m.SetReply(r)
			if r.IsTsig() != nil {
				m.SetTsig("xfr.", mdns.HmacSHA256, 300, time.Now().Unix())
			}
			w.WriteMsg(m)
		})}
	go sec.ActivateAndServe()
	defer sec.Shutdown()

	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	cfg.DNS.Nameservers = []string{"ns1.example.net.", "ns2.example.net."}
	cfg.DNS.TSIGKeys = map[string]dnsarea.Key{"xfr": {Secret: secret}}
	cfg.DNS.AllowTransfer = []dnsarea.Transfer{{CIDR: "127.0.0.0/8", Key: "xfr"}, {CIDR: "127.0.0.0/8", Key: "apikey"}}
	cfg.DNS.AlsoNotify = []dnsarea.Target{{Addr: pc.LocalAddr().String(), Key: "xfr"}}
	d := start(t, cfg, cfg.all()...)
	pw, _ := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	admin := issueToken(t, d, "admin", strings.TrimSpace(string(pw)), `{"project":{"name":"admin","domain":{"id":"default"}}}`)
	api := "http://" + d.addrs["dns"]

	_, _, body := getWithToken(t, api+"/v2/pools/794ccc2c-d751-44fe-b57f-8894c9f5c842", admin)
	if !strings.Contains(body, `{"hostname":"ns2.example.net.","priority":2}`) {
		t.Fatalf("default pool: %s", body)
	}
	if c := status(t, "POST", api+"/v2/zones", admin, `{"name":"xfr.example.","email":"a@xfr.example"}`); c != 202 {
		t.Fatalf("zone create: %d", c)
	}
	select {
	case m := <-notified:
		if m.Question[0].Name != "xfr.example." {
			t.Fatalf("NOTIFY for %s", m.Question[0].Name)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no signed NOTIFY reached the secondary")
	}

	axfr := func(key, secret string) ([]mdns.RR, error) {
		m := new(mdns.Msg)
		m.SetAxfr("xfr.example.")
		tr := &mdns.Transfer{}
		if key != "" {
			m.SetTsig(key, mdns.HmacSHA256, 300, time.Now().Unix())
			tr.TsigSecret = map[string]string{key: secret}
		}
		ch, err := tr.In(m, d.addrs["dns-server"])
		if err != nil {
			return nil, err
		}
		var rrs []mdns.RR
		for env := range ch {
			if env.Error != nil {
				return nil, env.Error
			}
			rrs = append(rrs, env.RR...)
		}
		return rrs, nil
	}
	rrs, err := axfr("xfr.", secret)
	if err != nil || len(rrs) != 4 { // SOA, NS, NS, SOA
		t.Fatalf("signed AXFR: %d records, %v: %v", len(rrs), err, rrs)
	}
	if rrs, err := axfr("", ""); err == nil {
		t.Fatalf("unsigned AXFR allowed: %v", rrs)
	}

	// A POOL key created through the API is used without a restart, and
	// stops working when deleted.
	const apiSecret = "YXBpLXNlY3JldC1hcGktc2VjcmV0"
	if _, err := axfr("apikey.", apiSecret); err == nil {
		t.Fatal("AXFR with a key that does not exist yet allowed")
	}
	req, _ := http.NewRequest("POST", api+"/v2/tsigkeys", strings.NewReader(`{"name":"apikey","algorithm":"hmac-sha256","secret":"`+apiSecret+`","scope":"POOL","resource_id":"794ccc2c-d751-44fe-b57f-8894c9f5c842"}`))
	req.Header.Set("X-Auth-Token", admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create tsigkey: %v %v", resp, err)
	}
	var key struct{ ID string }
	json.NewDecoder(resp.Body).Decode(&key)
	resp.Body.Close()
	eventually(t, "the API key to be accepted", func() bool {
		rrs, err := axfr("apikey.", apiSecret)
		return err == nil && len(rrs) == 4
	})
	if c := status(t, "DELETE", api+"/v2/tsigkeys/"+key.ID, admin, ""); c != 204 {
		t.Fatalf("delete tsigkey: %d", c)
	}
	eventually(t, "the deleted key to be refused", func() bool {
		_, err := axfr("apikey.", apiSecret)
		return err != nil
	})
	if !strings.Contains(d.logs.String(), `msg="dns server: no TSIG key of this name yet`) {
		t.Errorf("no warning about the key missing at start:\n%s", d.logs.String())
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func getWithToken(t *testing.T, url, token string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// The all-in-one keeps the default pool's nameserver names for admins: a
// member cannot create a zone that is, holds or lies within one, nor a
// public suffix, nor a single label; an admin (use_blacklisted_zone) can
// create the first two, not the third; other names stay a member's.
func TestDNSReservedZones(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Identity.PasswordRounds = 4
	cfg.DNS.Server = false
	cfg.DNS.Nameservers = []string{"ns1.cloud.example.", "ns2.cloud.example."}
	cfg.DNS.ReservedZones = []string{"corp.example."}
	d := start(t, cfg, cfg.id, cfg.dns)
	pw, _ := os.ReadFile(filepath.Join(cfg.DataDir, "admin-password"))
	admin := issueToken(t, d, "admin", strings.TrimSpace(string(pw)), `{"project":{"name":"admin","domain":{"id":"default"}}}`)
	member := dnsMember(t, d, admin)

	create := func(token, name string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+d.addrs["dns"]+"/v2/zones",
			strings.NewReader(`{"name":"`+name+`","email":"a@example.org"}`))
		req.Header.Set("X-Auth-Token", token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Type string }
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Type
	}
	for _, c := range []struct {
		who, token, name string
		code             int
	}{
		{"member", member, "ns1.cloud.example.", 400},
		{"member", member, "cloud.example.", 400},
		{"member", member, "x.ns2.cloud.example.", 400},
		{"member", member, "co.uk.", 400},
		{"member", member, "org.", 400},
		{"member", member, "corp.example.", 400},
		{"member", member, "www.corp.example.", 400},
		{"member", member, "example.", 400},
		{"member", member, "www.cloud.example.", 202},
		{"member", member, "example.co.uk.", 202},
		{"admin", admin, "ns1.cloud.example.", 202},
		{"admin", admin, "github.io.", 202},
		{"admin", admin, "corp.example.", 202},
		{"admin", admin, "org.", 400},
	} {
		code, typ := create(c.token, c.name)
		if code != c.code || code == 400 && typ != "invalid_zone_name" {
			t.Errorf("%s creates %s: %d %s, want %d", c.who, c.name, code, typ, c.code)
		}
	}
}

// dnsMember creates user dm with the member role on project dmp and
// returns its token.
func dnsMember(t *testing.T, d *daemon, admin string) string {
	t.Helper()
	idURL := "http://" + d.addrs["identity"] + "/v3"
	if c := status(t, "POST", idURL+"/users", admin, `{"user":{"name":"dm","password":"dm-pw"}}`); c != 201 {
		t.Fatalf("create user: %d", c)
	}
	if c := status(t, "POST", idURL+"/projects", admin, `{"project":{"name":"dmp"}}`); c != 201 {
		t.Fatalf("create project: %d", c)
	}
	id := func(q, key string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", idURL+q, nil)
		req.Header.Set("X-Auth-Token", admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]json.RawMessage
		var list []struct{ ID string }
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if err := json.Unmarshal(body[key], &list); err != nil || len(list) != 1 {
			t.Fatalf("%s: %s %v", q, body[key], err)
		}
		return list[0].ID
	}
	grant := idURL + "/projects/" + id("/projects?name=dmp", "projects") + "/users/" + id("/users?name=dm", "users") +
		"/roles/" + id("/roles?name=member", "roles")
	if c := status(t, "PUT", grant, admin, ""); c != 204 {
		t.Fatalf("grant: %d", c)
	}
	return issueToken(t, d, "dm", "dm-pw", `{"project":{"name":"dmp","domain":{"id":"default"}}}`)
}
