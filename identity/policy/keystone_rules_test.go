package policy

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"sort"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// TestKeystoneReferences checks that every rule: reference in the Keystone
// defaults names a registered rule, so none silently evaluates false.
func TestKeystoneReferences(t *testing.T) {
	e := keystoneEnforcer(t)
	s := e.snap.Load()
	var refs []string
	for name, n := range s.rules {
		n.walk(func(k *node) {
			if k.op == opRule && s.registered[k.match] == nil {
				refs = append(refs, name+" -> "+k.match)
			}
		})
	}
	sort.Strings(refs)
	if len(refs) > 0 {
		t.Fatalf("unresolved rule: references: %v", refs)
	}
	for _, want := range []string{
		"identity:validate_token", "identity:check_token", "identity:revoke_token",
		"identity:get_auth_catalog", "identity:get_auth_projects", "identity:get_auth_domains",
		"identity:list_domains", "identity:list_projects", "identity:list_user_projects",
		"identity:list_users", "identity:list_groups", "identity:add_user_to_group",
		"identity:list_roles", "identity:create_implied_role", "identity:list_role_assignments",
		"identity:create_grant", "identity:check_grant", "identity:list_grants", "identity:revoke_grant",
		"identity:create_system_grant_for_user", "identity:list_regions", "identity:list_services",
		"identity:list_endpoints", "identity:create_application_credential",
	} {
		if s.registered[want] == nil {
			t.Errorf("%s is not among the Keystone defaults", want)
		}
	}
}

// TestKeystoneRulesGenerated regenerates keystone_rules.go from the installed
// Keystone and checks that the committed file is what it produces.
func TestKeystoneRulesGenerated(t *testing.T) {
	if _, err := os.Stat(osloPython); err != nil {
		testenv.Missing(t, "keystone (python)", "python3-keystone")
	}
	if err := exec.Command(osloPython, "-c", "import keystone.common.policies").Run(); err != nil {
		testenv.Missing(t, "keystone (python)", "python3-keystone")
	}
	out, err := exec.Command(osloPython, "testdata/gen_keystone_rules.py").Output()
	if err != nil {
		t.Fatalf("gen_keystone_rules.py: %v", err)
	}
	want, err := format.Source(out)
	if err != nil {
		t.Fatalf("generated code does not format: %v", err)
	}
	got, err := os.ReadFile("keystone_rules.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("keystone_rules.go differs from the installed Keystone's defaults; run go generate ./identity/policy/")
	}
}
