package dns

import (
	"fmt"
	"net/netip"
	"strings"

	mdns "github.com/miekg/dns"
)

// ZoneName checks a zone name as CreateZone does and returns it in
// lowercase: a fully qualified name (see the label rules of recordset
// names) of more than one label. A single label ("org.") is refused for
// everyone, administrators included, with Designate's 400
// invalid_zone_name "More than one label is required"
// (designate/central/service.py _is_valid_zone_name).
func ZoneName(name string) (string, error) {
	name, err := canonicalName("name", name, false)
	if err != nil {
		return "", err
	}
	if strings.Count(name, ".") < 2 {
		return "", invalidZoneName("More than one label is required")
	}
	return name, nil
}

// ReservedNames are zone names the operator keeps for itself, fully
// qualified ("ns1.cloud.example."), in any case. An entry covers the name
// itself, every name below it and every name above it: a zone is
// reserved when it is an entry, lies inside one or would hold one. That
// way no project can own a zone that answers for a reserved name, from
// either side (a project's "cloud.example." would answer for
// "ns1.cloud.example." as surely as a zone of that name would).
//
// Together with the public suffixes (see Check) they are gostack's zone
// blacklist. The nil list reserves no name, but the public suffixes are
// still checked.
type ReservedNames []string

// SuffixList says which names are public suffixes: PublicSuffix returns
// the public suffix of a domain (without the final dot).
// golang.org/x/net/publicsuffix.List is one; it is passed in rather than
// imported, because that package pulls net/http (through
// net/http/cookiejar) into whatever imports it.
type SuffixList interface {
	PublicSuffix(domain string) string
}

// Check reports whether a zone named name is blacklisted: nil when it is
// not, else a 400 invalid_zone_name whose message starts with
// Designate's "Blacklisted zone name". A name is blacklisted when it
//
//   - is a public suffix of suffixes (dns/api passes the Public Suffix
//     List compiled into golang.org/x/net/publicsuffix): ICANN's section ("co.uk.",
//     "in-addr.arpa.") and the private one ("github.io.",
//     "s3.amazonaws.com."), wildcard rules included ("foo.ck."; not the
//     exception "www.ck."). Private suffixes count because the list names
//     there exactly the domains under which unrelated parties get names:
//     one project must not answer for all of them on a shared nameserver.
//     A top-level domain the list does not know is its own suffix by the
//     list's default rule ("*"), so every single-label name is one (the
//     API refuses those for everyone first, with ZoneName, before it asks
//     Check);
//   - is, lies inside or holds one of r's names.
//
// Check is the rule only. Who may create a blacklisted zone anyway is the
// API's decision (dns/api: Designate's use_blacklisted_zone policy, admin
// by default); the Store does not call Check. name is compared in
// lowercase, with or without its final dot.
func (r ReservedNames) Check(name string, suffixes SuffixList) error {
	name = mdns.CanonicalName(name)
	if isPublicSuffix(name, suffixes) {
		return invalidZoneName("Blacklisted zone name: %s is a public suffix", name)
	}
	for _, e := range r {
		e = mdns.CanonicalName(e)
		if overlaps(name, e) {
			return invalidZoneName("Blacklisted zone name: %s is, holds or lies within a reserved name", name)
		}
	}
	return nil
}

// Validate checks that every entry is a name a zone could have: fully
// qualified, of more than one label (a single label is refused for every
// zone anyway), valid labels. Check works on any list; Validate is for
// configuration files, so that a mistyped entry is reported at start.
func (r ReservedNames) Validate() error {
	for _, e := range r {
		if _, err := ZoneName(e); err != nil {
			return fmt.Errorf("dns: reserved zone name %q: %w", e, err)
		}
	}
	return nil
}

// isPublicSuffix reports whether name (lowercase, fully qualified) is a
// public suffix of l (never, for a nil l). publicsuffix.List answers the
// last label for a TLD it does not know: that is the list's default rule,
// and right here (a TLD is a public suffix whether or not the list knows
// it). Private suffixes count too. It answers an IP address as its own
// suffix: a name that only looks like one ("192.0.2.1.") is not a suffix,
// its last label being no TLD.
func isPublicSuffix(name string, l SuffixList) bool {
	bare := strings.TrimSuffix(name, ".")
	if bare == "" || l == nil {
		return false
	}
	if _, err := netip.ParseAddr(bare); err == nil {
		return false
	}
	return l.PublicSuffix(bare) == bare
}

// overlaps reports whether one of two lowercase FQDNs is the other or
// lies below it. The root is above every name.
func overlaps(a, b string) bool {
	return a == "." || b == "." || inZone(a, b) || inZone(b, a)
}
