package server

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestZoneRoundTrip parses a zone file, writes it out (compared with a
// golden file) and parses that again to the same records.
func TestZoneRoundTrip(t *testing.T) {
	f, err := os.Open("testdata/example.com.zone")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := ParseZone(f, "Example.COM")
	if err != nil {
		t.Fatal(err)
	}
	if z.Name != "example.com." {
		t.Errorf("name %q, want example.com.", z.Name)
	}
	var buf bytes.Buffer
	n, err := z.WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; wrote %d", n, err, buf.Len())
	}
	golden := "testdata/example.com.golden"
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("WriteTo differs from %s (run with -update):\n%s", golden, buf.String())
	}
	back, err := ParseZone(&buf, z.Name)
	if err != nil {
		t.Fatal(err)
	}
	if missing, extra := setDiff(z.Records, back.Records); len(missing)+len(extra) > 0 {
		t.Errorf("round trip: missing %q, extra %q", missing, extra)
	}
	if _, err := Build([]Zone{back}); err != nil {
		t.Errorf("build round-tripped zone: %v", err)
	}
}

func TestParseZoneErrors(t *testing.T) {
	for name, tc := range map[string]struct{ text, origin string }{
		"syntax":  {"@ SOA ns h 1 2 3 4\nwww A not-an-ip\n", "a.test."},
		"include": {"$INCLUDE /etc/passwd\n", "a.test."},
		"origin":  {"", "bad..name"},
	} {
		if _, err := ParseZone(strings.NewReader(tc.text), tc.origin); !errors.Is(err, ErrInvalidZone) {
			t.Errorf("%s: err %v, want ErrInvalidZone", name, err)
		}
	}
}

// TestBuildErrors checks that Build rejects bad zones with an error naming
// the zone and the owner.
func TestBuildErrors(t *testing.T) {
	const head = "$ORIGIN a.test.\n@ 60 SOA ns h 1 2 3 4 5\n@ 60 NS ns\n"
	for name, tc := range map[string]struct {
		text string
		want string
	}{
		"no SOA":          {"$ORIGIN a.test.\n@ 60 NS ns\n", `"a.test.": "a.test.": no SOA`},
		"two SOA":         {head + "@ 60 SOA ns h 2 2 3 4 5\n", "2 SOA records"},
		"no NS":           {"$ORIGIN a.test.\n@ 60 SOA ns h 1 2 3 4 5\n", "no NS"},
		"outside":         {head + "www.b.test. 60 A 192.0.2.1\n", `"www.b.test.": outside the zone`},
		"CNAME and data":  {head + "www 60 CNAME x\nwww 60 A 192.0.2.1\n", `"www.a.test.": CNAME beside other data`},
		"two CNAMEs":      {head + "www 60 CNAME x\nwww 60 CNAME y\n", "2 CNAME records"},
		"SOA below apex":  {head + "www 60 SOA ns h 1 2 3 4 5\n", "SOA below the apex"},
		"DNAME":           {head + "d 60 DNAME x.test.\n", "type DNAME not supported"},
		"class CH":        {head + "www 60 CH TXT \"x\"\n", "class CH"},
		"CNAME at apex":   {head + "@ 60 CNAME x.test.\n", "CNAME beside other data"},
		"empty zone name": {"", "bad name"},
	} {
		origin := "a.test."
		if name == "empty zone name" {
			origin = ""
		}
		z := Zone{Name: origin}
		if tc.text != "" {
			var err error
			if z, err = ParseZone(strings.NewReader(tc.text), origin); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		_, err := Build([]Zone{z})
		if !errors.Is(err, ErrInvalidZone) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrInvalidZone containing %q", name, err, tc.want)
		}
	}
	z, _ := ParseZone(strings.NewReader(head), "a.test.")
	if _, err := Build([]Zone{z, z}); !errors.Is(err, ErrInvalidZone) || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("duplicate zone: %v", err)
	}
}

// TestBuildNormalises checks duplicates, TTL unification, lowercase owners,
// and that the caller's records are left alone.
func TestBuildNormalises(t *testing.T) {
	www := mustRR(t, "WWW.a.test. 60 IN A 192.0.2.1")
	recs := []dns.RR{
		mustRR(t, "a.test. 60 IN SOA ns.a.test. h.a.test. 1 2 3 4 5"),
		mustRR(t, "a.test. 60 IN NS ns.a.test."),
		www,
		mustRR(t, "www.a.test. 60 IN A 192.0.2.1"),
		mustRR(t, "www.a.test. 300 IN A 192.0.2.2"),
	}
	zs, err := Build([]Zone{{Name: "A.Test", Records: recs}})
	if err != nil {
		t.Fatal(err)
	}
	if www.Header().Name != "WWW.a.test." {
		t.Errorf("caller's record renamed to %q", www.Header().Name)
	}
	if got := zs.Names(); len(got) != 1 || got[0] != "a.test." {
		t.Errorf("names %q", got)
	}
	if s, ok := zs.Serial("A.TEST."); !ok || s != 1 {
		t.Errorf("serial %d %v", s, ok)
	}
	set := zs.find("www.a.test.").lookup("www.a.test.").get(dns.TypeA)
	if len(set.rrs) != 2 || set.rrs[0].Header().Ttl != 60 || set.rrs[1].Header().Ttl != 60 {
		t.Errorf("www A set %v, want two records with TTL 60", set.rrs)
	}
}

func TestDynamic(t *testing.T) {
	var d Dynamic
	if d.Zones() != nil {
		t.Fatal("zero Dynamic holds zones")
	}
	if d.Zones().Names() != nil {
		t.Fatal("nil Zones has names")
	}
	z0, ch := d.Watch()
	if z0 != nil {
		t.Fatal("zero Dynamic watch gave zones")
	}
	zs := loadTestZones(t)
	d.Set(zs)
	select {
	case <-ch:
	default:
		t.Fatal("Set did not signal the watcher")
	}
	if got, _ := d.Watch(); got != zs || d.Zones() != zs {
		t.Fatal("Zones after Set is not the set value")
	}
}
