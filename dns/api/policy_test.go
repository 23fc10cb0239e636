package api_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/gostack/gostack/dns/api"
	"github.com/gostack/gostack/identity/policy"
)

// TestDefaultsAreDesignates compares Defaults with the rules Designate
// itself defines (testdata/designate-policies.txt, read out of
// designate/common/policies): the same names with the same check
// strings, and they all register.
func TestDefaultsAreDesignates(t *testing.T) {
	f, err := os.Open("testdata/designate-policies.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, check, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		want[name] = check
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range api.Defaults() {
		if _, dup := got[r.Name]; dup {
			t.Errorf("%s defined twice", r.Name)
		}
		got[r.Name] = r.Check
		if w, ok := want[r.Name]; !ok {
			t.Errorf("%s is not one of Designate's rules", r.Name)
		} else if r.Check != w {
			t.Errorf("%s:\n got %s\nwant %s", r.Name, r.Check, w)
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("Designate's %s is missing", name)
		}
	}
	if err := policy.New().Register(api.Defaults()...); err != nil {
		t.Fatal(err)
	}
}
