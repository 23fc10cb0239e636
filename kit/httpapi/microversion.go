package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/gostack/gostack/kit/fault"
)

// VersionHeader is the standard microversion header,
// "OpenStack-API-Version: compute 2.60".
const VersionHeader = "OpenStack-API-Version"

// Version is an API microversion such as 2.60.
type Version struct{ Major, Minor int }

// ParseVersion parses "X.Y" where X is a positive integer and Y a
// non-negative one without leading zeros, the format Nova accepts. Errors
// are BadRequest.
func ParseVersion(s string) (Version, error) {
	major, minor, ok := strings.Cut(s, ".")
	var (
		v          Version
		err1, err2 error
	)
	v.Major, err1 = parseVersionPart(major, false)
	v.Minor, err2 = parseVersionPart(minor, true)
	if !ok || err1 != nil || err2 != nil {
		return Version{}, fault.New(fault.BadRequest,
			"API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", s)
	}
	return v, nil
}

// parseVersionPart parses digits without a sign or leading zeros; zero is
// allowed only when zeroOK.
func parseVersionPart(s string, zeroOK bool) (int, error) {
	if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" ||
		(s[0] == '0' && (len(s) > 1 || !zeroOK)) {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

// String formats v as "X.Y".
func (v Version) String() string {
	return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor)
}

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool {
	return v.Major < o.Major || (v.Major == o.Major && v.Minor < o.Minor)
}

// Microversions describes the microversions one service supports.
type Microversions struct {
	// ServiceType is the name in OpenStack-API-Version: "compute",
	// "volume", "placement", "baremetal", ...
	ServiceType string
	// Legacy is the service's pre-standard header, such as
	// "X-OpenStack-Nova-API-Version" or "X-OpenStack-Ironic-API-Version";
	// empty if it has none.
	Legacy string
	// Min and Max bound the supported versions, inclusive.
	Min, Max Version
}

// Negotiate returns the version r asks for. It reads our service type's
// entry in OpenStack-API-Version (several services may be listed, comma
// separated or in several header lines; the type matches case-insensitively),
// else the Legacy header. No version asked means Min; "latest" means Max.
// A malformed version is BadRequest; one outside [Min, Max] is
// NotAcceptable with a message stating the supported range.
func (m Microversions) Negotiate(r *http.Request) (Version, error) {
	s, ok := m.requested(r.Header)
	switch {
	case !ok:
		return m.Min, nil
	case strings.EqualFold(s, "latest"):
		return m.Max, nil
	}
	v, err := ParseVersion(s)
	if err != nil {
		return Version{}, err
	}
	if v.Less(m.Min) || m.Max.Less(v) {
		return Version{}, fault.New(fault.NotAcceptable,
			"Version %s is not supported by the API. Minimum is %s and maximum is %s.", v, m.Min, m.Max)
	}
	return v, nil
}

// requested finds the version string in the headers.
func (m Microversions) requested(h http.Header) (string, bool) {
	for _, line := range h.Values(VersionHeader) {
		for _, entry := range strings.Split(line, ",") {
			typ, ver, _ := strings.Cut(strings.TrimSpace(entry), " ")
			if strings.EqualFold(typ, m.ServiceType) {
				return strings.TrimSpace(ver), true
			}
		}
	}
	if m.Legacy != "" {
		if s := strings.TrimSpace(h.Get(m.Legacy)); s != "" {
			return s, true
		}
	}
	return "", false
}

type versionKey struct{}

// VersionFrom returns the version Middleware negotiated, or the zero
// Version outside such a request.
func VersionFrom(ctx context.Context) Version {
	v, _ := ctx.Value(versionKey{}).(Version)
	return v
}

// Middleware negotiates the version of each request, stores it in the
// context for VersionFrom, and announces it on the response as Nova does:
// "OpenStack-API-Version: <type> <ver>", the Legacy header with the bare
// version, and Vary naming both. Negotiation errors are written with
// WriteError in style.
func (m Microversions) Middleware(style Style, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := m.Negotiate(r)
		if err != nil {
			WriteError(w, r, style, err)
			return
		}
		h := w.Header()
		h.Set(VersionHeader, m.ServiceType+" "+v.String())
		h.Add("Vary", VersionHeader)
		if m.Legacy != "" {
			h.Set(m.Legacy, v.String())
			h.Add("Vary", m.Legacy)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), versionKey{}, v)))
	})
}
