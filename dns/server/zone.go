package server

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Zone is one zone's data as the caller holds it: the apex name (a
// lowercase FQDN with its trailing dot) and every record, among them
// exactly one SOA and at least one NS at the apex.
type Zone struct {
	Name    string
	Records []dns.RR
}

// ParseZone reads a zone in RFC 1035 master-file format. origin is the
// zone's apex; relative names in the file are relative to it. $INCLUDE is
// refused. The records are not validated: Build does that.
func ParseZone(r io.Reader, origin string) (Zone, error) {
	name := dns.CanonicalName(origin)
	if _, ok := dns.IsDomainName(name); !ok {
		return Zone{}, fmt.Errorf("dns/server: parse zone %q: bad origin: %w", origin, ErrInvalidZone)
	}
	zp := dns.NewZoneParser(r, name, "")
	zp.SetIncludeAllowed(false)
	z := Zone{Name: name}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		z.Records = append(z.Records, rr)
	}
	if err := zp.Err(); err != nil {
		return Zone{}, fmt.Errorf("dns/server: parse zone %q: %w: %v", name, ErrInvalidZone, err)
	}
	return z, nil
}

// WriteTo writes z in master-file format: an $ORIGIN line, the SOA, then
// the other records sorted by owner name and type, one a line with
// absolute names. ParseZone reads the result back.
func (z Zone) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	cw := &countWriter{w: bw}
	fmt.Fprintf(cw, "$ORIGIN %s\n", dns.Fqdn(z.Name))
	rrs := slices.Clone(z.Records)
	slices.SortStableFunc(rrs, func(a, b dns.RR) int {
		ha, hb := a.Header(), b.Header()
		if sa, sb := ha.Rrtype == dns.TypeSOA, hb.Rrtype == dns.TypeSOA; sa != sb {
			if sa {
				return -1
			}
			return 1
		}
		if c := strings.Compare(strings.ToLower(ha.Name), strings.ToLower(hb.Name)); c != 0 {
			return c
		}
		return int(ha.Rrtype) - int(hb.Rrtype)
	})
	for _, rr := range rrs {
		io.WriteString(cw, rr.String())
		io.WriteString(cw, "\n")
	}
	if cw.err == nil {
		cw.err = bw.Flush()
	}
	if cw.err != nil {
		return cw.n, fmt.Errorf("dns/server: write zone %q: %w", z.Name, cw.err)
	}
	return cw.n, nil
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
