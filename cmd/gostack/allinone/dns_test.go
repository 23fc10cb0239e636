package allinone_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/cmd/gostack/allinone"
	mdns "github.com/miekg/dns"
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
	cfg.DNS.TSIGKeys = map[string]allinone.DNSKey{"xfr": {Secret: secret}}
	cfg.DNS.AllowTransfer = []allinone.DNSTransfer{{CIDR: "127.0.0.0/8", Key: "xfr"}}
	cfg.DNS.AlsoNotify = []allinone.DNSTarget{{Addr: pc.LocalAddr().String(), Key: "xfr"}}
	d := start(t, cfg, allinone.DefaultAreas()...)
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

	axfr := func(signed bool) ([]mdns.RR, error) {
		m := new(mdns.Msg)
		m.SetAxfr("xfr.example.")
		tr := &mdns.Transfer{}
		if signed {
			m.SetTsig("xfr.", mdns.HmacSHA256, 300, time.Now().Unix())
			tr.TsigSecret = map[string]string{"xfr.": secret}
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
	rrs, err := axfr(true)
	if err != nil || len(rrs) != 4 { // SOA, NS, NS, SOA
		t.Fatalf("signed AXFR: %d records, %v: %v", len(rrs), err, rrs)
	}
	if rrs, err := axfr(false); err == nil {
		t.Fatalf("unsigned AXFR allowed: %v", rrs)
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
