package ec2

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// gen makes credentials objects as EC2 APIs send them, and broken ones:
// versions 2 and 4 (by the Authorization header or by the X-Amz-*
// parameters), values that need quoting, numbers and booleans, hosts
// with ports, users and paths, headers differing in case, old boto's
// user agent, dates that do not match the scope, missing members.
type gen struct{ r *rand.Rand }

func (g gen) pick(xs ...string) string { return xs[g.r.Intn(len(xs))] }

func (g gen) text() string {
	const alphabet = "abcXYZ019 -_.~/=&+%?#:;,'\"\\\tü€😀"
	n := g.r.Intn(8)
	rs := []rune(alphabet)
	var b strings.Builder
	for range n {
		b.WriteRune(rs[g.r.Intn(len(rs))])
	}
	return b.String()
}

func (g gen) value() any {
	switch g.r.Intn(10) {
	case 0:
		return g.r.Intn(2000) - 1000
	case 1:
		return g.r.Intn(2) == 0
	case 2:
		return nil
	case 3:
		return []float64{0.5, 1e20, -0.0001, 3.0, 1e-7}[g.r.Intn(5)]
	}
	return g.text()
}

func (g gen) request() (string, map[string]any) {
	secret := g.pick("secret", "5f4dcc3b5aa765d61d8327deb882cf99", "sécret", "")
	params := map[string]any{}
	for range g.r.Intn(6) {
		params[g.pick("Action", "Version", "Timestamp", "AWSAccessKeyId", "a b", "ü", "a~b", "Z", "a", "k/=", "SignatureMethod", g.text())] = g.value()
	}
	host := g.pick("ec2.example.com", "Example.COM:8773", "127.0.0.1:80", "host:", ":80", "u@H:1", "h:1/x?y", "h%Zone:5", "[::1]:8773")
	creds := map[string]any{"access": "AK", "verb": g.pick("GET", "POST", "post", "Put"), "host": host,
		"path": g.pick("/", "/services/Cloud/", "", "/a b/ü")}
	date := g.pick("20240102T030405Z", "20240102T000000Z", "20231231T235959Z")
	scope := g.pick("20240102/RegionOne/ec2/aws4_request", "20240102/r/s3/aws4_request", "20240102/r", "20231231/r/ec2/x/y")
	signed := g.pick("host;x-amz-date", "host", "x-amz-date;host;x-custom", "missing", "host;user-agent")
	switch g.r.Intn(4) {
	case 0, 1: // version 2
		params["SignatureVersion"] = g.pick("2", "2", "2", "1", "3")
		if g.r.Intn(10) == 0 {
			params["SignatureVersion"] = 2
		}
	case 2: // version 4, Authorization header
		hs := map[string]any{"Authorization": fmt.Sprintf("AWS4-HMAC-SHA256 Credential=AK/%s, SignedHeaders=%s, Signature=x", scope, signed),
			g.pick("Host", "host", " HOST "): host, "X-Amz-Date": date}
		if g.r.Intn(3) == 0 {
			hs["User-Agent"] = g.pick("Boto/2.9.1 Python", "Boto/2.9.3", "curl")
		}
		if g.r.Intn(3) == 0 {
			hs[" X-Custom "] = "  v\x1c "
		}
		creds["headers"] = hs
		creds["body_hash"] = g.pick("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "")
	default: // version 4, query parameters
		params["X-Amz-Algorithm"] = g.pick("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256", "HMAC")
		params["X-Amz-Credential"] = "AK/" + scope
		params["X-Amz-SignedHeaders"] = signed
		params["X-Amz-Date"] = date
		creds["headers"] = map[string]any{"Host": host}
		creds["body_hash"] = "UNSIGNED-PAYLOAD"
	}
	creds["params"] = params
	// Now and then a member goes missing.
	if g.r.Intn(12) == 0 {
		delete(creds, g.pick("verb", "host", "path", "params", "headers", "body_hash"))
	}
	return secret, creds
}

// TestSignerMatchesKeystoneclient signs generated requests here and with
// keystoneclient's Ec2Signer, with and without the host's port, and
// wants the same signatures, and the same refusals.
func TestSignerMatchesKeystoneclient(t *testing.T) {
	testenv.RequirePython(t, "keystoneclient.contrib.ec2.utils", "python3-keystoneclient")
	g := gen{rand.New(rand.NewSource(16))}
	type item struct {
		Secret      string         `json:"secret"`
		Credentials map[string]any `json:"credentials"`
	}
	var items []item
	for range 3000 {
		s, c := g.request()
		items = append(items, item{s, c})
	}
	res := testenv.PythonJSON(t, "testdata/ec2signer.py", items)
	if len(res) != len(items) {
		t.Fatalf("%d results for %d requests", len(res), len(items))
	}
	var signed, refused, portless int
	for i, it := range items {
		var want struct{ Sig, Portless *string }
		if err := json.Unmarshal(res[i], &want); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(it.Credentials)
		req, perr := Parse(raw)
		got, err := "", perr
		if perr == nil {
			got, err = Sign(it.Secret, req)
		}
		v := req.Params["SignatureVersion"]
		legacy := v.String && (v.Text == "0" || v.Text == "1")
		switch {
		case want.Sig == nil && err == nil:
			t.Errorf("request %d %s: Ec2Signer refused, we signed %q", i, raw, got)
		case want.Sig != nil && err != nil && !legacy:
			t.Errorf("request %d %s: Ec2Signer signed %q, we refused: %v", i, raw, *want.Sig, err)
		case want.Sig != nil && err == nil && got != *want.Sig:
			t.Errorf("request %d %s: signature %q, Ec2Signer's %q", i, raw, got, *want.Sig)
		case err == nil:
			signed++
		default:
			refused++
		}
		if perr != nil || !strings.Contains(req.Host, ":") {
			continue
		}
		host, ok := hostname(req.Host)
		if !ok {
			continue // not retried here (the package doc says which)
		}
		r2 := req
		r2.Host = host
		got2, err2 := Sign(it.Secret, r2)
		switch {
		case (want.Portless == nil) != (err2 != nil) && !legacy:
			t.Errorf("request %d %s: port-less: Ec2Signer %v, ours %q %v", i, raw, want.Portless, got2, err2)
		case want.Portless != nil && err2 == nil && got2 != *want.Portless:
			t.Errorf("request %d %s: port-less signature %q, Ec2Signer's %q", i, raw, got2, *want.Portless)
		case want.Portless != nil && err2 == nil:
			portless++
			req.Signature = *want.Portless
			if err := Verify(it.Secret, req); err != nil {
				t.Errorf("request %d: Verify refused the port-less signature: %v", i, err)
			}
		}
	}
	t.Logf("%d signed alike, %d refused alike, %d port-less retries alike", signed, refused, portless)
	if signed < 500 || refused < 100 || portless < 100 {
		t.Fatalf("the generator covers too little: %d signed, %d refused, %d port-less", signed, refused, portless)
	}
}

func TestVerify(t *testing.T) {
	r := Request{Access: "AK", Verb: "GET", Host: "ec2.example.com:8773", Path: "/",
		Params: map[string]Param{"SignatureVersion": {Text: "2", String: true}, "Action": {Text: "DescribeInstances", String: true}}}
	sig, err := Sign("s3cret", r)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*Request)
		want error
	}{
		{"good", func(r *Request) { r.Signature = sig }, nil},
		{"none", func(r *Request) {}, ErrNoSignature},
		{"wrong", func(r *Request) { r.Signature = sig[1:] + "A" }, ErrSignature},
		{"other params", func(r *Request) {
			r.Signature = sig
			r.Params = map[string]Param{"SignatureVersion": {Text: "2", String: true}, "Action": {Text: "RunInstances", String: true}}
		}, ErrSignature},
		{"version 1", func(r *Request) {
			r.Signature = sig
			r.Params = map[string]Param{"SignatureVersion": {Text: "1", String: true}}
		}, ErrSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := r
			c.edit(&x)
			if err := Verify("s3cret", x); err != c.want {
				t.Fatalf("Verify: %v, want %v", err, c.want)
			}
		})
	}
}
