package cinder_test

import (
	"context"
	"testing"

	"github.com/gostack/gostack/identity/policy"
	"github.com/gostack/gostack/storage/api/cinder"
)

// Cinder 21's defaults decide as Cinder does with enforce_new_defaults
// off: a new default ORed with its deprecated rule (an empty one allows
// all), is_admin from the admin role.
func TestDefaults(t *testing.T) {
	e, err := cinder.NewEnforcer()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cinder.Defaults()); n != 166 {
		t.Errorf("%d rules, want Cinder 21's 166", n)
	}
	own := map[string]any{"project_id": "p1"}
	other := map[string]any{"project_id": "p2"}
	member := policy.Creds{UserID: "u", ProjectID: "p1", Roles: []string{"member", "reader"}, IsAdminProject: true}
	readerOnly := policy.Creds{UserID: "r", ProjectID: "p1", Roles: []string{"reader"}, IsAdminProject: true}
	admin := policy.Creds{UserID: "a", ProjectID: "p9", Roles: []string{"admin"}, IsAdmin: true, IsAdminProject: true}
	for _, c := range []struct {
		rule   string
		target map[string]any
		creds  policy.Creds
		want   bool
	}{
		{"volume:create", own, member, true},
		{"volume:create", own, policy.Creds{UserID: "x", ProjectID: "p1"}, true}, // deprecated rule is empty
		{"volume:get", own, member, true},
		{"volume:get", other, member, false},
		{"volume:get", own, readerOnly, true},
		{"volume:delete", own, readerOnly, true}, // admin_or_owner: the project is enough
		{"volume:get", other, admin, true},
		{"volume_extension:volume_admin_actions:reset_status", own, member, false},
		{"volume_extension:volume_admin_actions:reset_status", own, admin, true},
		{"volume_extension:volume_host_attribute", own, member, false},
		{"volume_extension:volume_tenant_attribute", own, member, true},
		{"volume_extension:types_extra_specs:index", own, member, true},
		{"volume_extension:type_create", own, member, false},
		{"volume_extension:quotas:update", own, member, false},
		{"volume_extension:quotas:show", other, member, false},
		{"context_is_admin", own, admin, true},
		{"volume:create_snapshot", own, member, true},
		{"volume:get_snapshot", own, readerOnly, true},
		{"volume:get_snapshot", other, member, false},
		{"volume:delete_snapshot", other, admin, true},
		{"volume:update_snapshot_metadata", own, member, true},
		{"volume_extension:extended_snapshot_attributes", own, member, true},
		{"volume_extension:snapshot_admin_actions:reset_status", own, member, false},
		{"volume_extension:snapshot_admin_actions:force_delete", own, member, false},
		{"volume_extension:snapshot_admin_actions:force_delete", other, admin, true},
		{"volume:create_transfer", own, readerOnly, true}, // admin_or_owner
		{"volume:create_transfer", other, member, false},
		{"volume:delete_transfer", other, member, false},
		{"volume:accept_transfer", other, policy.Creds{UserID: "x", ProjectID: "p1"}, true}, // anyone with the id and key
		{"volume:get_all_transfers", own, readerOnly, true},
		{"backup:create", own, policy.Creds{UserID: "x", ProjectID: "p1"}, true},
		{"backup:get", other, member, false},
		{"backup:restore", own, member, true},
		{"volume_extension:backup_admin_actions:reset_status", own, member, false},
		{"volume_extension:backup_admin_actions:force_delete", other, admin, true},
	} {
		err := e.Enforce(context.Background(), c.rule, c.target, c.creds)
		if (err == nil) != c.want {
			t.Errorf("%s on %v for %v: %v, want allowed %v", c.rule, c.target, c.creds.Roles, err, c.want)
		}
	}
}
