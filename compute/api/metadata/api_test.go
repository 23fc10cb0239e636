package metadata_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/api/metadata"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

const secret = "s3cret-shared-with-the-proxy"

func newAPI(t *testing.T) (*httptest.Server, compute.Instance) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, watch.Migrations(), compute.Migrations()); err != nil {
		t.Fatal(err)
	}
	store := compute.NewStore(db, watch.New(db))
	i, err := store.CreateInstance(ctx, compute.Instance{UUID: "5d3c1b2a-0000-4000-8000-0000000000aa", ProjectID: "proj-a", UserID: "alice",
		Name: "vm1", Hostname: "vm1", ImageRef: "9e8d7c6b-1111-4000-8000-000000000001", KeyName: "k1", KeyData: "ssh-ed25519 AAAAkey alice@example",
		UserData: base64.StdEncoding.EncodeToString([]byte("#!/bin/sh\necho hi\n")), AvailabilityZone: "nova", ReservationID: "r-abcdefgh",
		Flavor: compute.InstanceFlavor{ID: "42", Name: "m1.nano", VCPUs: 1, MemoryMB: 128, RootGB: 1}, Metadata: map[string]string{"role": "web"},
		Ports: []compute.InstancePort{{ID: "0f0e0d0c-0b0a-4000-8000-000000000001", NetworkID: "net-1", MAC: "fa:16:3e:00:00:01",
			IPs: []string{"10.9.0.5", "fd00::5"}, MTU: 1450, Created: true}},
		Networks: []compute.NetworkRequest{{NetworkID: "net-1", SecurityGroups: []string{"web"}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&metadata.API{Store: store, Secret: secret}).Handler())
	t.Cleanup(srv.Close)
	return srv, i
}

type response struct {
	status int
	ctype  string
	body   string
}

func get(t *testing.T, srv *httptest.Server, path string, hdr map[string][]string) response {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

// signed are the headers a proxy sends for instance id of project.
func signed(id, project string) map[string][]string {
	return map[string][]string{"X-Instance-ID": {id}, "X-Tenant-ID": {project},
		"X-Instance-ID-Signature": {metadata.Sign(secret, id)}, "X-Forwarded-For": {"10.9.0.5"}}
}

func TestDocuments(t *testing.T) {
	srv, i := newAPI(t)
	h := signed(i.UUID, "proj-a")

	// "/" needs no headers: the EC2 versions.
	if r := get(t, srv, "/", nil); r.status != 200 || !strings.HasPrefix(r.body, "1.0\n2007-01-19\n") || !strings.HasSuffix(r.body, "2009-04-04\nlatest") {
		t.Errorf("/: %+v", r)
	}
	if r := get(t, srv, "/openstack", h); r.status != 200 || !strings.HasPrefix(r.body, "2012-08-10\n") || !strings.HasSuffix(r.body, "2020-10-14\nlatest") {
		t.Errorf("/openstack: %+v", r)
	}
	if r := get(t, srv, "/openstack/latest/", h); r.body != "meta_data.json\nuser_data\npassword\nvendor_data.json\nnetwork_data.json\nvendor_data2.json" {
		t.Errorf("/openstack/latest: %+v", r)
	}
	if r := get(t, srv, "/openstack/2012-08-10", h); r.body != "meta_data.json\nuser_data" {
		t.Errorf("/openstack/2012-08-10: %+v", r)
	}

	r := get(t, srv, "/openstack/latest/meta_data.json", h)
	var md map[string]any
	if err := json.Unmarshal([]byte(r.body), &md); err != nil || r.ctype != "application/json" {
		t.Fatalf("meta_data.json: %+v: %v", r, err)
	}
	for k, want := range map[string]any{"uuid": i.UUID, "name": "vm1", "hostname": "vm1", "project_id": "proj-a", "availability_zone": "nova",
		"launch_index": 0.0} {
		if md[k] != want {
			t.Errorf("meta_data.json %s = %v, want %v", k, md[k], want)
		}
	}
	if pk := md["public_keys"].(map[string]any); pk["k1"] != "ssh-ed25519 AAAAkey alice@example" {
		t.Errorf("public_keys: %v", pk)
	}
	if seed, _ := base64.StdEncoding.DecodeString(md["random_seed"].(string)); len(seed) != 512 {
		t.Errorf("random_seed of %d bytes", len(seed))
	}
	if md["meta"].(map[string]any)["role"] != "web" {
		t.Errorf("meta: %v", md["meta"])
	}
	// The oldest version has none of the later fields.
	r = get(t, srv, "/openstack/2012-08-10/meta_data.json", h)
	if strings.Contains(r.body, "project_id") || strings.Contains(r.body, "random_seed") || strings.Contains(r.body, "devices") {
		t.Errorf("2012-08-10 meta_data.json: %s", r.body)
	}

	if r := get(t, srv, "/openstack/latest/user_data", h); r.body != "#!/bin/sh\necho hi\n" {
		t.Errorf("user_data: %+v", r)
	}
	r = get(t, srv, "/openstack/latest/network_data.json", h)
	want := `{"links":[{"id":"tap0f0e0d0c-0b","vif_id":"0f0e0d0c-0b0a-4000-8000-000000000001","type":"ovs","mtu":null,"ethernet_mac_address":"fa:16:3e:00:00:01"}],` +
		`"networks":[{"id":"network0","type":"ipv4_dhcp","link":"tap0f0e0d0c-0b","network_id":"net-1"}],"services":[]}`
	if r.body != want || !strings.HasPrefix(r.ctype, "text/plain") {
		t.Errorf("network_data.json: %+v\nwant %s", r, want)
	}
	if r := get(t, srv, "/openstack/latest/vendor_data2.json", h); r.body != `{"static": {}}` {
		t.Errorf("vendor_data2.json: %+v", r)
	}

	// The EC2-style tree, as cloud-init's Ec2 source reads it.
	for path, want := range map[string]string{
		"/latest/meta-data/instance-id":                 "i-5d3c1b2a",
		"/2009-04-04/meta-data/ami-id":                  "ami-9e8d7c6b",
		"/latest/meta-data/hostname":                    "vm1",
		"/latest/meta-data/local-ipv4":                  "10.9.0.5",
		"/latest/meta-data/instance-type":               "m1.nano",
		"/latest/meta-data/placement/availability-zone": "nova",
		"/latest/meta-data/security-groups":             "web",
		"/latest/meta-data/public-keys":                 "0=k1",
		"/latest/meta-data/public-keys/0/openssh-key":   "ssh-ed25519 AAAAkey alice@example",
		"/latest/meta-data/reservation-id":              "r-abcdefgh",
		"/latest/user-data":                             "#!/bin/sh\necho hi\n",
		"/ec2/latest/meta-data/ami-launch-index":        "0",
		"/latest/meta-data/../meta-data//hostname":      "vm1",
	} {
		if r := get(t, srv, path, h); r.status != 200 || r.body != want {
			t.Errorf("%s: %+v, want %q", path, r, want)
		}
	}
	r = get(t, srv, "/latest/meta-data/", h)
	for _, line := range []string{"ami-id", "block-device-mapping/", "instance-id", "placement/", "public-keys/", "security-groups"} {
		if !strings.Contains("\n"+r.body+"\n", "\n"+line+"\n") {
			t.Errorf("meta-data/ lacks %q:\n%s", line, r.body)
		}
	}
	// Fields a version did not have yet.
	if r := get(t, srv, "/1.0/meta-data/instance-type", h); r.status != 404 {
		t.Errorf("1.0 instance-type: %+v", r)
	}
	for _, p := range []string{"/openstack/2011-01-01/meta_data.json", "/openstack/latest/nothing", "/latest/meta-data/nothing",
		"/1999-01-01/meta-data/", "/openstack/latest/content/0000", "/latest/meta-data/hostname/deeper"} {
		if r := get(t, srv, p, h); r.status != 404 || r.body != "404 Not Found\n\nThe resource could not be found.\n\n   " {
			t.Errorf("%s: %+v", p, r)
		}
	}
}

// The proxy's headers are checked as Nova checks them, and a request the
// proxy did not sign, or signed for another project, reads nothing.
func TestProxyHeaders(t *testing.T) {
	srv, i := newAPI(t)
	good := signed(i.UUID, "proj-a")
	without := func(k string) map[string][]string {
		h := map[string][]string{}
		for kk, v := range good {
			if kk != k {
				h[kk] = v
			}
		}
		return h
	}
	cases := []struct {
		name   string
		hdr    map[string][]string
		status int
		msg    string
	}{
		{"no instance", without("X-Instance-ID"), 400, "X-Instance-ID header is missing from request."},
		{"no signature", without("X-Instance-ID-Signature"), 400, "X-Instance-ID-Signature header is missing from request."},
		{"no tenant", without("X-Tenant-ID"), 400, "X-Tenant-ID header is missing from request."},
		{"two instances", map[string][]string{"X-Instance-ID": {i.UUID, i.UUID}, "X-Tenant-ID": {"proj-a"}, "X-Instance-ID-Signature": good["X-Instance-ID-Signature"]},
			400, "Multiple X-Instance-ID headers found within request."},
		{"bad signature", map[string][]string{"X-Instance-ID": {i.UUID}, "X-Tenant-ID": {"proj-a"}, "X-Instance-ID-Signature": {metadata.Sign("guess", i.UUID)}},
			403, "Invalid proxy request signature."},
		{"another instance's signature", map[string][]string{"X-Instance-ID": {i.UUID}, "X-Tenant-ID": {"proj-a"},
			"X-Instance-ID-Signature": {metadata.Sign(secret, "5d3c1b2a-0000-4000-8000-0000000000bb")}}, 403, "Invalid proxy request signature."},
		{"another project", signed(i.UUID, "proj-b"), 404, "The resource could not be found."},
		{"no such instance", signed("5d3c1b2a-0000-4000-8000-0000000000bb", "proj-a"), 404, "The resource could not be found."},
	}
	for _, c := range cases {
		r := get(t, srv, "/openstack/latest/user_data", c.hdr)
		want := http.StatusText(c.status)
		if r.status != c.status || r.body != strings.Join([]string{itoa(c.status) + " " + want, "", c.msg, "", "   "}, "\n") {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
	// Only reads.
	req, _ := http.NewRequest("POST", srv.URL+"/openstack/latest/password", strings.NewReader("pw"))
	for k, v := range good {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// An API without a secret answers no instance's metadata.
func TestEmptySecret(t *testing.T) {
	_, i := newAPI(t)
	ts := httptest.NewServer((&metadata.API{Store: nil}).Handler())
	defer ts.Close()
	h := map[string][]string{"X-Instance-ID": {i.UUID}, "X-Tenant-ID": {"proj-a"}, "X-Instance-ID-Signature": {metadata.Sign("", i.UUID)}}
	if r := get(t, ts, "/openstack/latest/meta_data.json", h); r.status != 403 {
		t.Errorf("empty secret: %+v", r)
	}
}
