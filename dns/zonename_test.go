package dns_test

import (
	"golang.org/x/net/publicsuffix"
	"strings"
	"testing"

	"github.com/gostack/gostack/dns"
	"github.com/gostack/gostack/kit/fault"
)

// TestZoneName: a zone needs more than one label, whoever asks, and gets
// Designate's invalid_zone_name for it; other bad names are invalid_object
// naming the field, as before.
func TestZoneName(t *testing.T) {
	for _, c := range []struct {
		name, want string
		typ, msg   string // the error's type and message, when refused
	}{
		{name: "example.org.", want: "example.org."},
		{name: "Example.ORG.", want: "example.org."},
		{name: "a.b.c.example.", want: "a.b.c.example."},
		{name: "org.", typ: "invalid_zone_name", msg: "More than one label is required"},
		{name: "COM.", typ: "invalid_zone_name", msg: "More than one label is required"},
		{name: "internal.", typ: "invalid_zone_name", msg: "More than one label is required"},
		{name: ".", typ: "invalid_object"},
		{name: "example.org", typ: "invalid_object"},
		{name: "", typ: "invalid_object"},
		{name: "a..org.", typ: "invalid_object"},
	} {
		got, err := dns.ZoneName(c.name)
		if c.typ == "" {
			if err != nil || got != c.want {
				t.Errorf("ZoneName(%q) = %q, %v; want %q", c.name, got, err, c.want)
			}
			continue
		}
		if fault.KindOf(err) != fault.BadRequest || fault.TypeOf(err) != c.typ {
			t.Errorf("ZoneName(%q) = %q, %v (type %q); want a 400 %s", c.name, got, err, fault.TypeOf(err), c.typ)
			continue
		}
		if c.msg != "" && err.Error() != c.msg {
			t.Errorf("ZoneName(%q): message %q, want %q", c.name, err, c.msg)
		}
		if c.typ == "invalid_zone_name" && fault.FieldOf(err) != "" {
			t.Errorf("ZoneName(%q) names field %q: Designate's InvalidZoneName names none", c.name, fault.FieldOf(err))
		}
	}
}

// TestReservedNames: the blacklist rule. Public suffixes of both sections
// of the list are refused, names below them are not; a reserved entry
// covers itself, the names below it and the names above it.
func TestReservedNames(t *testing.T) {
	r := dns.ReservedNames{"ns1.cloud.example.", "Corp.Example.NET"} // any case, final dot optional
	for _, c := range []struct {
		name   string
		reason string // "" when allowed, else "public suffix" or "reserved"
	}{
		// ICANN section.
		{"co.uk.", "public suffix"},
		{"CO.UK.", "public suffix"},
		{"co.uk", "public suffix"},
		{"in-addr.arpa.", "public suffix"},
		{"ip6.arpa.", "public suffix"},
		{"com.au.", "public suffix"},
		{"org.", "public suffix"}, // a TLD: ZoneName refuses it first, for everyone
		{"cromulent.", "public suffix"},
		{"foo.ck.", "public suffix"}, // *.ck
		{"www.ck.", ""},              // !www.ck
		// Private section.
		{"github.io.", "public suffix"},
		{"s3.amazonaws.com.", "public suffix"},
		{"blogspot.com.", "public suffix"},
		// Registrable names and below.
		{"example.org.", ""},
		{"example.co.uk.", ""},
		{"www.example.co.uk.", ""},
		{"user.github.io.", ""},
		{"10.in-addr.arpa.", ""},
		{"2.0.192.in-addr.arpa.", ""},
		{"amazonaws.com.", ""},
		// A TLD the list does not know: its own suffix, names below it are not.
		{"foo.internal.", ""},
		{"foo.cromulent.", ""},
		// Looks like an address, is a name: not a suffix.
		{"192.0.2.1.", ""},
		// Reserved entries: the name, below it, above it; not beside it.
		{"ns1.cloud.example.", "reserved"},
		{"NS1.Cloud.Example.", "reserved"},
		{"a.ns1.cloud.example.", "reserved"},
		{"cloud.example.", "reserved"},
		{"ns2.cloud.example.", ""},
		{"www.cloud.example.", ""},
		{"xns1.cloud.example.", ""},
		{"corp.example.net.", "reserved"},
		{"dev.corp.example.net.", "reserved"},
		{"example.net.", "reserved"},
		{"notcorp.example.net.", ""},
	} {
		err := r.Check(c.name, publicsuffix.List)
		switch {
		case c.reason == "" && err != nil:
			t.Errorf("Check(%q) = %v, want allowed", c.name, err)
		case c.reason == "":
		case fault.KindOf(err) != fault.BadRequest || fault.TypeOf(err) != "invalid_zone_name" || fault.FieldOf(err) != "":
			t.Errorf("Check(%q) = %v (type %q, field %q), want a 400 invalid_zone_name naming no field",
				c.name, err, fault.TypeOf(err), fault.FieldOf(err))
		case !strings.HasPrefix(err.Error(), "Blacklisted zone name: ") || !strings.Contains(err.Error(), c.reason):
			t.Errorf("Check(%q) = %q, want Designate's \"Blacklisted zone name\" and %q", c.name, err, c.reason)
		}
	}

	// No entries: the public suffixes are still refused.
	var none dns.ReservedNames
	if err := none.Check("co.uk.", publicsuffix.List); fault.TypeOf(err) != "invalid_zone_name" {
		t.Errorf("nil list, co.uk.: %v", err)
	}
	if err := none.Check("cloud.example.", publicsuffix.List); err != nil {
		t.Errorf("nil list, cloud.example.: %v", err)
	}
	// The root as an entry holds every name.
	if err := (dns.ReservedNames{}).Check("co.uk.", nil); err != nil {
		t.Errorf("no suffix list: co.uk. is %v", err)
	}
	if err := (dns.ReservedNames{"."}).Check("example.org.", publicsuffix.List); fault.TypeOf(err) != "invalid_zone_name" {
		t.Errorf("root entry, example.org.: %v", err)
	}
}

func TestReservedNamesValidate(t *testing.T) {
	if err := (dns.ReservedNames{"ns1.cloud.example.", "Corp.Example.NET."}).Validate(); err != nil {
		t.Errorf("valid list: %v", err)
	}
	for _, bad := range []string{"corp.example.net", "org.", ".", "", "-x.example."} {
		err := dns.ReservedNames{"ok.example.", bad}.Validate()
		if err == nil || !strings.Contains(err.Error(), "reserved zone name") {
			t.Errorf("Validate with %q = %v, want an error naming the entry", bad, err)
		}
	}
}
