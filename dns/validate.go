package dns

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	mdns "github.com/miekg/dns"
)

// MaxTTL is the largest TTL (RFC 2181: 2^31 - 1).
const MaxTTL = 2147483647

// maxDescription is Designate's limit on descriptions.
const maxDescription = 160

// recordTypes are the types users may create: Designate's default list
// without SOA, which belongs to the zone.
var recordTypes = map[string]bool{
	"A": true, "AAAA": true, "CNAME": true, "MX": true, "SRV": true, "TXT": true, "SPF": true, "NS": true,
	"PTR": true, "SSHFP": true, "NAPTR": true, "CAA": true, "CERT": true, "HTTPS": true, "SVCB": true, "TLSA": true,
}

// RecordTypes lists the recordset types users may create.
func RecordTypes() []string {
	return []string{"A", "AAAA", "CNAME", "MX", "SRV", "TXT", "SPF", "NS", "PTR", "SSHFP", "NAPTR", "CAA", "CERT", "HTTPS", "SVCB", "TLSA"}
}

// canonicalName checks a domain name as Designate does and returns it in
// lowercase: it must end with '.', have labels of 1 to 63 letters, digits,
// '_' or '-' (no '-' at either end) and be at most 253 characters without
// the final dot. With wildcard, the first label may be "*". field names
// the input in the error.
func canonicalName(field, name string, wildcard bool) (string, error) {
	if name == "" {
		return "", invalid(field, "%s is required", field)
	}
	if !strings.HasSuffix(name, ".") {
		return "", invalid(field, "%s %q must be a fully qualified name ending with '.'", field, name)
	}
	if name == "." {
		return "", invalid(field, "%s must not be the root zone", field)
	}
	name = strings.ToLower(name)
	bare := strings.TrimSuffix(name, ".")
	if len(bare) > 253 {
		return "", invalid(field, "%s is longer than 253 characters", field)
	}
	for i, label := range strings.Split(bare, ".") {
		if wildcard && i == 0 && label == "*" {
			continue
		}
		if err := checkLabel(label); err != "" {
			return "", invalid(field, "%s %q: label %q %s", field, name, label, err)
		}
	}
	return name, nil
}

func checkLabel(label string) string {
	switch {
	case label == "":
		return "is empty"
	case len(label) > 63:
		return "is longer than 63 characters"
	case label[0] == '-' || label[len(label)-1] == '-':
		return "starts or ends with '-'"
	}
	for _, c := range []byte(label) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "has a character other than letters, digits, '-' and '_'"
		}
	}
	return ""
}

// emailLocal are the characters allowed in an email's local part: RFC
// 5322's atext and '.', minus '$' (zone-file syntax).
const emailLocal = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#%&'*+/=?^_`{|}~.-"

// checkEmail checks a zone's email: local@domain, at most 255 characters.
func checkEmail(email string) error {
	local, domain, ok := strings.Cut(email, "@")
	switch {
	case email == "":
		return invalid("email", "email is required")
	case len(email) > 255:
		return invalid("email", "email is longer than 255 characters")
	case !ok || local == "" || domain == "":
		return invalid("email", "email %q is not an address of the form local@domain", email)
	case strings.Trim(local, emailLocal) != "" || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, ".."):
		return invalid("email", "email %q has characters or dots not allowed in its local part", email)
	}
	if !strings.HasSuffix(domain, ".") {
		domain += "."
	}
	if _, err := canonicalName("email", domain, false); err != nil {
		return invalid("email", "email %q does not have a valid domain", email)
	}
	return nil
}

// rname is the SOA RNAME for an email: the '@' becomes a dot, and dots in
// the local part are escaped ("john.doe@example.org" is
// "john\.doe.example.org.").
func rname(email string) string {
	local, domain, _ := strings.Cut(email, "@")
	return mdns.Fqdn(strings.ReplaceAll(local, ".", `\.`) + "." + strings.ToLower(domain))
}

func checkTTL(field string, ttl, lowest int) error {
	if ttl < lowest || ttl > MaxTTL {
		return invalid(field, "%s must be between %d and %d", field, lowest, MaxTTL)
	}
	return nil
}

func checkDescription(d string) error {
	if utf8.RuneCountInString(d) > maxDescription {
		return invalid("description", "description is longer than %d characters", maxDescription)
	}
	return nil
}

// canonicalMasters checks a secondary zone's masters: each an IP address
// or a hostname, with an optional port ("192.0.2.1", "192.0.2.1:5353",
// "[2001:db8::1]:5353", "ns1.example.org", "ns1.example.org.:5353"), as
// Designate's ZoneMaster takes them (host and port, 53 by default);
// addresses are kept in their canonical form, hostnames in lowercase.
// Designate stores any string as the host; a host that is neither is
// refused here, since nothing could ever transfer from it.
func canonicalMasters(masters []string) ([]string, error) {
	if len(masters) == 0 {
		return nil, invalid("masters", "a SECONDARY zone needs at least one master")
	}
	out := make([]string, 0, len(masters))
	for _, m := range masters {
		c, err := canonicalMaster(m)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// canonicalMaster checks one master of a SECONDARY zone (see
// canonicalMasters) and returns it as stored: as given, without a port
// when none was given.
func canonicalMaster(m string) (string, error) {
	host, port, err := splitHostPort("masters", m)
	if err != nil {
		return "", err
	}
	if port == "" {
		return host, nil
	}
	return net.JoinHostPort(host, port), nil
}

// splitHostPort reads a server given as an IP address or a hostname with
// an optional port ("192.0.2.1", "192.0.2.1:5353", "2001:db8::1",
// "[2001:db8::1]:5353", "ns1.example.org", "ns1.example.org.:5353"): the
// host (an address in its canonical form, a hostname in lowercase) and
// the port, "" when none was given. field names the input in errors.
func splitHostPort(field, s string) (host, port string, err error) {
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Port() != 0 && ap.Addr().Zone() == "" {
		return ap.Addr().String(), strconv.Itoa(int(ap.Port())), nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.String(), "", nil
	}
	if strings.HasPrefix(s, "[") {
		return "", "", invalid(field, "%q is not an IPv6 address in brackets followed by :port", s)
	}
	host = s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return "", "", invalid(field, "%q: the port must be a number from 1 to 65535", s)
		}
	}
	bare := strings.TrimSuffix(strings.ToLower(host), ".")
	if _, err := netip.ParseAddr(bare); err == nil || bare == "" {
		return "", "", invalid(field, "%q is neither an IP address nor a hostname, with an optional :port", s)
	}
	if _, err := canonicalName(field, bare+".", false); err != nil {
		return "", "", invalid(field, "%q is neither an IP address nor a hostname, with an optional :port", s)
	}
	return strings.ToLower(host), port, nil
}

// parseRecord parses data as the rdata of one record of type typ at name
// and returns the record and its rdata as miekg/dns prints it. Names in
// the data must be fully qualified, and the data must be one line without
// a comment: anything else is refused rather than guessed at.
func parseRecord(name, typ, data string) (mdns.RR, string, error) {
	if strings.TrimSpace(data) == "" {
		return nil, "", invalid("records", "a %s record is empty", typ)
	}
	for _, r := range data {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return nil, "", invalid("records", "%s record %q has a control character", typ, data)
		}
	}
	if typ == "TXT" && strings.HasSuffix(data, `\`) {
		// Designate's TxtField: "Do NOT put '\' into end of TXT record".
		return nil, "", invalid("records", `TXT record %q ends with a backslash, which Designate refuses; to end the text with one, quote it and escape the backslash ("...\\")`, data)
	}
	zp := mdns.NewZoneParser(strings.NewReader(name+" 0 IN "+typ+" "+data+"\n"), "", "")
	rr, ok := zp.Next()
	if !ok {
		msg := "is not valid"
		if err := zp.Err(); err != nil {
			msg = "is not valid: " + parseMessage(err)
		}
		return nil, "", invalid("records", "%s record %q %s (names must be fully qualified, ending with '.')", typ, data, msg)
	}
	if zp.Comment() != "" {
		return nil, "", invalid("records", "%s record %q has an unquoted ';', which starts a zone-file comment: quote the text", typ, data)
	}
	if _, more := zp.Next(); more || zp.Err() != nil || rr.Header().Rrtype != mdns.StringToType[typ] {
		return nil, "", invalid("records", "%s record %q is not one record of type %s", typ, data, typ)
	}
	return rr, rdata(rr), nil
}

// parseMessage is the parser's reason without its "dns: " prefix and
// file/line position, which mean nothing to an API client.
func parseMessage(err error) string {
	if pe, ok := err.(*mdns.ParseError); ok {
		msg := strings.TrimPrefix(pe.Error(), "dns: ")
		if i := strings.Index(msg, " at line:"); i > 0 {
			msg = msg[:i]
		}
		return msg
	}
	return err.Error()
}

// rdata is rr's presentation format without its header.
func rdata(rr mdns.RR) string {
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

// inZone reports whether name is zone or below it.
func inZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

// parents are the names strictly above name, closest first, without the
// root: "a.b.c." gives "b.c.", "c.".
func parents(name string) []string {
	var out []string
	for rest := name; ; {
		_, after, ok := strings.Cut(rest, ".")
		if !ok || after == "" {
			return out
		}
		out = append(out, after)
		rest = after
	}
}
