package ec2

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/gostack/gostack/kit/pyrepr"
)

// Errors of Verify.
var (
	// ErrNoSignature is a request without a signature.
	ErrNoSignature = errors.New("ec2: signature not supplied")
	// ErrSignature is a signature that does not match, or a request the
	// signer cannot compute one for.
	ErrSignature = errors.New("ec2: invalid signature")
)

// Param is a query parameter's value: Text is Python's str() of it,
// String whether it was a JSON string.
type Param struct {
	Text   string
	String bool
}

// truthy is Python's truth of the value.
func (p Param) truthy() bool {
	if p.String {
		return p.Text != ""
	}
	switch p.Text {
	case "None", "False", "0", "0.0", "-0.0":
		return false
	}
	return true
}

// Header is one request header, as the client sent it.
type Header struct{ Name, Value string }

// Request is the credentials object of an ec2tokens call.
type Request struct {
	Access    string
	Signature string
	Verb      string
	Host      string
	Path      string
	BodyHash  string
	Params    map[string]Param // nil when absent
	Headers   []Header         // in the order sent; nil when absent
	HasBody   bool             // body_hash was sent
	HasHeader bool             // headers were sent

	// present holds the members Parse saw; nil (a Request made in Go)
	// has them all.
	present map[string]bool
}

// has reports whether the member was sent.
func (r *Request) has(name string) bool { return r.present == nil || r.present[name] }

// Sent reports whether Parse saw the member (always true for a Request
// made in Go).
func (r *Request) Sent(name string) bool { return r.has(name) }

// Timestamp is the time the client says it signed at, as Keystone's
// _check_timestamp reads it: the Timestamp parameter (version 2), the
// X-Amz-Date header, or the X-Amz-Date parameter (version 4), the first
// that is not empty; "" when there is none. ok is false when that value
// is not a string (Keystone cannot parse it either).
func (r *Request) Timestamp() (ts string, ok bool) {
	if p, has := r.Params["Timestamp"]; has && p.truthy() {
		return p.Text, p.String
	}
	if v, has := r.header("X-Amz-Date"); has && v != "" {
		return v, true
	}
	if p, has := r.Params["X-Amz-Date"]; has && p.truthy() {
		return p.Text, p.String
	}
	return "", true
}

// Parse reads a credentials object. The members the signer reads as text
// must be strings; params and headers must be objects (header values
// strings); a member that is absent stays empty, and the signer refuses
// it if it needs it.
func Parse(raw json.RawMessage) (Request, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Request{}, fmt.Errorf("ec2: credentials: %w", err)
	}
	r := Request{present: map[string]bool{}}
	for k := range m {
		r.present[k] = true
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"access", &r.Access}, {"signature", &r.Signature}, {"verb", &r.Verb}, {"host", &r.Host}, {"path", &r.Path}, {"body_hash", &r.BodyHash}} {
		v, ok := m[f.name]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return Request{}, fmt.Errorf("ec2: credentials.%s: not a string", f.name)
		}
	}
	_, r.HasBody = m["body_hash"]
	if v, ok := m["params"]; ok {
		ps, err := params(v)
		if err != nil {
			return Request{}, err
		}
		r.Params = ps
	}
	if v, ok := m["headers"]; ok {
		hs, err := headers(v)
		if err != nil {
			return Request{}, err
		}
		r.Headers, r.HasHeader = hs, true
	}
	return r, nil
}

func params(raw json.RawMessage) (map[string]Param, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errors.New("ec2: credentials.params: not an object")
	}
	out := make(map[string]Param, len(m))
	for k, v := range m {
		p, err := pyStr(v)
		if err != nil {
			return nil, fmt.Errorf("ec2: credentials.params.%s: %w", k, err)
		}
		out[k] = p
	}
	return out, nil
}

var integer = regexp.MustCompile(`^-?[0-9]+$`)

// pyStr is Python's str() of a JSON value as json.loads reads it.
func pyStr(v json.RawMessage) (Param, error) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) > 0 && v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return Param{Text: s, String: true}, err
	case string(v) == "true":
		return Param{Text: "True"}, nil
	case string(v) == "false":
		return Param{Text: "False"}, nil
	case string(v) == "null":
		return Param{Text: "None"}, nil
	case integer.Match(v):
		n, _ := new(big.Int).SetString(string(v), 10)
		return Param{Text: n.String()}, nil
	case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return Param{}, err
		}
		return Param{Text: pyrepr.Float(f)}, nil
	}
	return Param{}, errors.New("a list or an object")
}

// headers reads the headers object keeping its order: the signer's
// lower-cased view keeps the last of names that differ only in case.
func headers(raw json.RawMessage) ([]Header, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	bad := errors.New("ec2: credentials.headers: not an object of strings")
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, bad
	}
	out := []Header{}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return nil, bad
		}
		var v string
		if err := d.Decode(&v); err != nil {
			return nil, bad
		}
		out = append(out, Header{Name: k.(string), Value: v})
	}
	return out, nil
}

// header is headers[name], exact name, last one sent.
func (r *Request) header(name string) (string, bool) {
	v, ok := "", false
	for _, h := range r.Headers {
		if h.Name == name {
			v, ok = h.Value, true
		}
	}
	return v, ok
}

// Verify checks r's signature with secret as Keystone does: the
// signature of r, else, when the host has a port, the signature of r
// with the host's name alone (some clients sign without the port).
func Verify(secret string, r Request) error {
	if r.Signature == "" {
		return ErrNoSignature
	}
	sig, err := Sign(secret, r)
	if err != nil {
		return ErrSignature
	}
	if equal(sig, r.Signature) {
		return nil
	}
	if !strings.Contains(r.Host, ":") {
		return ErrSignature
	}
	host, ok := hostname(r.Host)
	if !ok {
		return ErrSignature
	}
	r.Host = host
	if sig, err = Sign(secret, r); err != nil || !equal(sig, r.Signature) {
		return ErrSignature
	}
	return nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// hostname is urllib's urlsplit("//" + host).hostname for hosts of
// printable ASCII without brackets ("None" when it is empty, as Python
// formats None); ok is false for any other host.
func hostname(host string) (string, bool) {
	for i := 0; i < len(host); i++ {
		if c := host[i]; c <= ' ' || c >= 0x7f || c == '[' || c == ']' {
			return "", false
		}
	}
	netloc := host
	if i := strings.IndexAny(netloc, "/?#"); i >= 0 {
		netloc = netloc[:i]
	}
	if i := strings.LastIndexByte(netloc, '@'); i >= 0 {
		netloc = netloc[i+1:]
	}
	name, _, _ := strings.Cut(netloc, ":")
	if name == "" {
		return "None", true
	}
	name, zone, pct := strings.Cut(name, "%")
	if pct {
		return strings.ToLower(name) + "%" + zone, true
	}
	return strings.ToLower(name), true
}

// Sign is Ec2Signer.generate: the signature of r with secret.
func Sign(secret string, r Request) (string, error) {
	if r.Params == nil {
		return "", errors.New("ec2: no params")
	}
	for _, k := range []string{"verb", "host", "path"} {
		if !r.has(k) {
			return "", fmt.Errorf("ec2: no %s", k)
		}
	}
	v, has := r.Params["SignatureVersion"]
	switch {
	case has && v.String && v.Text == "2":
		return signV2(secret, r), nil
	case has && v.String && (v.Text == "0" || v.Text == "1"):
		return "", fmt.Errorf("ec2: signature version %s is not accepted", v.Text)
	}
	if isV4(r) {
		return signV4(secret, r)
	}
	return "", errors.New("ec2: unexpected signature format")
}

// isV4 is Ec2Signer._v4_creds.
func isV4(r Request) bool {
	if auth, ok := r.header("Authorization"); ok && r.HasHeader {
		return strings.HasPrefix(auth, "AWS4-HMAC-SHA256")
	}
	alg, ok := r.Params["X-Amz-Algorithm"]
	return ok && alg.String && alg.Text == "AWS4-HMAC-SHA256"
}

// quote is urllib's quote with safe "-_~": letters, digits and "_.-~"
// stay, every other byte is %XX.
func quote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// canonicalQS is Ec2Signer._canonical_qs: names sorted by code point.
func canonicalQS(ps map[string]Param) string {
	keys := make([]string, 0, len(ps))
	for k := range ps {
		keys = append(keys, k)
	}
	sort.Strings(keys) // UTF-8 byte order is code point order
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = quote(k) + "=" + quote(ps[k].Text)
	}
	return strings.Join(pairs, "&")
}

// signV2 is Ec2Signer._calc_signature_2, which sets SignatureMethod to
// HmacSHA256 in the parameters it signs whatever the client sent.
func signV2(secret string, r Request) string {
	ps := make(map[string]Param, len(r.Params)+1)
	for k, v := range r.Params {
		ps[k] = v
	}
	ps["SignatureMethod"] = Param{Text: "HmacSHA256", String: true}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(r.Verb + "\n" + r.Host + "\n" + r.Path + "\n" + canonicalQS(ps)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func hmacSHA256(key []byte, msg string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msg))
	return mac.Sum(nil)
}

// isSpace is Python's str.isspace.
func isSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

func pyStrip(s string) string { return strings.TrimFunc(s, isSpace) }

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

var oldBoto = regexp.MustCompile(`^Boto/2\.[0-9]\.[0-2]`)

// authParam is the v4 auth_param: from the Authorization header, else
// the X-Amz-<name> parameter (ok false when it is missing or no string).
func (r Request) authParam(name string) (string, bool) {
	if auth, ok := r.header("Authorization"); ok {
		_, after, _ := strings.Cut(auth, name+"=")
		v, _, _ := strings.Cut(after, ",")
		return v, true
	}
	p, ok := r.Params["X-Amz-"+name]
	return p.Text, ok && p.String
}

// signV4 is Ec2Signer._calc_signature_4.
func signV4(secret string, r Request) (string, error) {
	if !r.HasHeader || !r.HasBody {
		return "", errors.New("ec2: v4 needs headers and body_hash")
	}
	if !ascii(r.Verb) {
		return "", errors.New("ec2: verb is not ASCII")
	}
	verb := strings.ToUpper(r.Verb)
	lower := map[string]string{}
	for _, h := range r.Headers {
		if !ascii(h.Name) {
			return "", errors.New("ec2: header name is not ASCII")
		}
		lower[pyStrip(strings.ToLower(h.Name))] = pyStrip(h.Value)
	}
	signed, ok := r.authParam("SignedHeaders")
	if !ok {
		return "", errors.New("ec2: no SignedHeaders")
	}
	stripPort := oldBoto.MatchString(lower["user-agent"])
	var hl []string
	for _, h := range strings.Split(signed, ";") {
		v, ok := lower[h]
		if !ok {
			continue
		}
		if h == "host" && stripPort {
			v, _, _ = strings.Cut(v, ":")
		}
		hl = append(hl, h+":"+v)
	}
	qs := ""
	if verb != "POST" {
		qs = canonicalQS(r.Params)
	}
	cr := strings.Join([]string{verb, r.Path, qs, strings.Join(hl, "\n") + "\n", signed, r.BodyHash}, "\n")
	cred, ok := r.authParam("Credential")
	if !ok {
		return "", errors.New("ec2: no Credential")
	}
	parts := strings.Split(cred, "/")
	if len(parts) < 4 {
		return "", errors.New("ec2: Credential has no scope")
	}
	date, ok := r.header("X-Amz-Date")
	if !ok {
		p, has := r.Params["X-Amz-Date"]
		if !has || !p.String {
			return "", errors.New("ec2: no X-Amz-Date")
		}
		date = p.Text
	}
	if !strings.HasPrefix(date, parts[1]) {
		return "", errors.New("ec2: request date mismatch")
	}
	crHash := sha256.Sum256([]byte(cr))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", date, strings.Join(parts[1:], "/"), hex.EncodeToString(crHash[:])}, "\n")
	k := hmacSHA256([]byte("AWS4"+secret), parts[1])
	k = hmacSHA256(k, parts[2])
	k = hmacSHA256(k, parts[3])
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign)), nil
}
