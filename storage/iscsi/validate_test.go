package iscsi_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/storage/iscsi"
)

// Bad Exporters and Exports are ErrInvalid, say what is wrong, never
// hold the password, and touch nothing: no tgtd is needed (none is
// started: the Tgtd program does not exist).
func TestInvalid(t *testing.T) {
	dir := t.TempDir()
	vol := filepath.Join(dir, "volume-a")
	if err := os.WriteFile(vol, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	portal := netip.MustParseAddrPort("192.0.2.10:3260")
	good := func() *iscsi.Exporter {
		return &iscsi.Exporter{Dir: filepath.Join(dir, "tgt"), ControlPort: 31000, Portal: portal, Tgtd: "/nonexistent/tgtd", Tgtadm: "/nonexistent/tgtadm"}
	}
	const secret = "a-secret-password"
	x := iscsi.Export{VolumeID: "a", Path: vol}
	for _, tc := range []struct {
		name string
		e    func(*iscsi.Exporter)
		x    func(*iscsi.Export)
		want string
	}{
		{"no dir", func(e *iscsi.Exporter) { e.Dir = "" }, nil, "Dir is empty"},
		{"control port", func(e *iscsi.Exporter) { e.ControlPort = 40000 }, nil, "control port 40000"},
		{"negative control port", func(e *iscsi.Exporter) { e.ControlPort = -1 }, nil, "control port -1"},
		{"no portal", func(e *iscsi.Exporter) { e.Portal = netip.AddrPort{} }, nil, "portal"},
		{"unspecified portal", func(e *iscsi.Exporter) { e.Portal = netip.MustParseAddrPort("0.0.0.0:3260") }, nil, "portal"},
		{"portal port 0", func(e *iscsi.Exporter) { e.Portal = netip.MustParseAddrPort("192.0.2.10:0") }, nil, "portal"},
		{"listen port 0", func(e *iscsi.Exporter) { e.Listen = netip.MustParseAddrPort("0.0.0.0:0") }, nil, "listen address"},
		{"prefix", func(e *iscsi.Exporter) { e.Prefix = "openstack:" }, nil, "does not start with iqn."},
		{"upper-case prefix", func(e *iscsi.Exporter) { e.Prefix = "iqn.2010-10.org.OpenStack:" }, nil, "lower-case"},
		{"empty id", nil, func(x *iscsi.Export) { x.VolumeID = "" }, "volume id"},
		{"upper-case id", nil, func(x *iscsi.Export) { x.VolumeID = "ABC" }, "lower-case"},
		{"id with a slash", nil, func(x *iscsi.Export) { x.VolumeID = "../a" }, "volume id"},
		{"long id", nil, func(x *iscsi.Export) { x.VolumeID = strings.Repeat("a", 200) }, "longer than 223"},
		{"relative path", nil, func(x *iscsi.Export) { x.Path = "volume-a" }, "absolute path"},
		{"path with a comma", nil, func(x *iscsi.Export) { x.Path = "/a,b" }, "without commas"},
		{"user only", nil, func(x *iscsi.Export) { x.CHAP = iscsi.CHAP{Username: "u"} }, "CHAP password"},
		{"password only", nil, func(x *iscsi.Export) { x.CHAP = iscsi.CHAP{Password: secret} }, "CHAP user name"},
		{"short password", nil, func(x *iscsi.Export) { x.CHAP = iscsi.CHAP{Username: "u", Password: "short"} }, "12 to 255"},
		{"password with a comma", nil, func(x *iscsi.Export) { x.CHAP = iscsi.CHAP{Username: "u", Password: secret + ","} }, "CHAP password"},
		{"user with an at", nil, func(x *iscsi.Export) { x.CHAP = iscsi.CHAP{Username: "u@x", Password: secret} }, "CHAP user name"},
		{"initiator", nil, func(x *iscsi.Export) { x.Initiators = []string{"host1"} }, "initiator name"},
		{"initiator with a space", nil, func(x *iscsi.Export) { x.Initiators = []string{"iqn.a b"} }, "initiator name"},
		{"address", nil, func(x *iscsi.Export) { x.Addresses = []netip.Prefix{{}} }, "initiator address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good()
			if tc.e != nil {
				tc.e(e)
			}
			x := x
			if tc.x != nil {
				tc.x(&x)
			}
			_, err := e.Export(context.Background(), x)
			if !errors.Is(err, iscsi.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Export: %v, want ErrInvalid saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error holds the password: %v", err)
			}
			if _, err := e.Reconcile(context.Background(), []iscsi.Export{x}); !errors.Is(err, iscsi.ErrInvalid) {
				t.Fatalf("Reconcile: %v, want ErrInvalid", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "tgt")); err == nil {
				t.Fatal("a refused call made the Exporter's Dir")
			}
		})
	}

	// Reconcile: one volume twice.
	_, err := good().Reconcile(context.Background(), []iscsi.Export{x, x})
	if !errors.Is(err, iscsi.ErrInvalid) || !strings.Contains(err.Error(), "wanted twice") {
		t.Errorf("one volume twice: %v", err)
	}
	// Start, Stop, Unexport and Targets check the Exporter too.
	bad := good()
	bad.Portal = netip.AddrPort{}
	for name, err := range map[string]error{
		"Start":    bad.Start(context.Background()),
		"Stop":     bad.Stop(context.Background()),
		"Unexport": bad.Unexport(context.Background(), "a"),
	} {
		if !errors.Is(err, iscsi.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := bad.Targets(context.Background()); !errors.Is(err, iscsi.ErrInvalid) {
		t.Errorf("Targets: %v, want ErrInvalid", err)
	}
	if err := good().Unexport(context.Background(), "A"); !errors.Is(err, iscsi.ErrInvalid) {
		t.Errorf("Unexport of a bad id: %v, want ErrInvalid", err)
	}
}

// Credentials print without their password, however printed.
func TestCHAPPrinting(t *testing.T) {
	c := iscsi.Connection{
		VolumeID: "v1",
		IQN:      "iqn.2010-10.org.openstack:volume-v1",
		Portal:   netip.MustParseAddrPort("192.0.2.10:3260"),
		LUN:      1,
		CHAP:     iscsi.CHAP{Username: "user1", Password: "the-password-1"},
	}
	x := iscsi.Export{VolumeID: "v1", Path: "/v", CHAP: c.CHAP}
	for _, s := range []string{
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		fmt.Sprintf("%v %+v %#v", x, x, x), fmt.Sprintf("%v %+v %#v %s", c.CHAP, c.CHAP, c.CHAP, c.CHAP),
	} {
		if strings.Contains(s, "the-password-1") {
			t.Errorf("printed with its password: %s", s)
		}
		if !strings.Contains(s, "user1") {
			t.Errorf("printed without its user: %s", s)
		}
	}
	if got := c.URL(); got != "iscsi://user1%the-password-1@192.0.2.10:3260/iqn.2010-10.org.openstack:volume-v1/1" {
		t.Errorf("URL %s", got)
	}
}

// NewCHAP's credentials are Cinder's lengths, of letters and digits, and
// differ every time.
func TestNewCHAP(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := iscsi.NewCHAP()
		if len(c.Username) != 20 || len(c.Password) != 16 {
			t.Fatalf("lengths %d and %d", len(c.Username), len(c.Password))
		}
		for _, r := range c.Username + c.Password {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				t.Fatalf("character %q", r)
			}
		}
		if seen[c.Username] || seen[c.Password] {
			t.Fatal("credentials repeat")
		}
		seen[c.Username], seen[c.Password] = true, true
	}
}

func TestIQN(t *testing.T) {
	e := &iscsi.Exporter{}
	if got := e.IQN("5b4c1e2a"); got != "iqn.2010-10.org.openstack:volume-5b4c1e2a" {
		t.Errorf("default prefix: %s", got)
	}
	e.Prefix = "iqn.2024-01.org.example.cloud:"
	if got := e.IQN("5b4c1e2a"); got != "iqn.2024-01.org.example.cloud:volume-5b4c1e2a" {
		t.Errorf("own prefix: %s", got)
	}
}
