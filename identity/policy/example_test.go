package policy_test

import (
	"context"
	"fmt"

	"github.com/gostack/gostack/identity/policy"
)

func Example() {
	ctx := context.Background()
	e := policy.New()
	if err := e.Register(policy.KeystoneDefaults()...); err != nil {
		panic(err)
	}
	// An operator's policy file may override any default.
	if err := e.Load([]byte(`"identity:list_regions": "role:reader"`)); err != nil {
		panic(err)
	}

	// A domain reader lists the projects of its own domain, not of another.
	reader := policy.Creds{UserID: "u1", DomainID: "d1", Roles: []string{"reader"}}
	own := policy.Flatten("target", map[string]any{"domain_id": "d1"})
	other := policy.Flatten("target", map[string]any{"domain_id": "d2"})
	fmt.Println(e.Enforce(ctx, "identity:list_projects", own, reader))
	fmt.Println(e.Enforce(ctx, "identity:list_projects", other, reader))
	fmt.Println(e.Enforce(ctx, "identity:list_regions", nil, policy.Creds{Roles: []string{"member"}}))
	// Output:
	// <nil>
	// You are not authorized to perform the requested action: identity:list_projects.
	// You are not authorized to perform the requested action: identity:list_regions.
}

func ExampleParse() {
	c, err := policy.Parse("role:admin or role:reader AND system_scope:all or not user_id:%(target.user.id)s")
	fmt.Println(c, err)
	c, err = policy.Parse("role:admin or")
	fmt.Println(c, err)
	// Output:
	// (role:admin or (role:reader and system_scope:all) or not user_id:%(target.user.id)s) <nil>
	// ! policy: parse "role:admin or": the rule does not reduce to one expression; it is always false
}
