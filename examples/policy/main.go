// Command policy protects the operations of a small service with
// oslo.policy rules: the service registers its defaults, an operator's
// policy file overrides one of them, and two callers — a member of the
// book's project and a member of another project — are checked against
// the book.
//
//	cd examples && go run ./policy
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/gostack/gostack/identity/policy"
)

// The service's defaults, in the rule language every OpenStack service
// uses. rule: names another rule; %(target.project_id)s is read from the
// object being acted on.
var defaults = []policy.Rule{
	{Name: "admin_required", Check: "role:admin"},
	{Name: "owner", Check: "project_id:%(target.project_id)s"},
	{Name: "books:get", Check: "rule:admin_required or (role:reader and rule:owner)"},
	{Name: "books:delete", Check: "rule:admin_required or (role:member and rule:owner)"},
}

// An operator's policy file (YAML or JSON): only admins delete books.
const policyFile = `"books:delete": "rule:admin_required"`

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "policy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	e := policy.New() // no global enforcer: each service holds its own
	if err := e.Register(defaults...); err != nil {
		return err
	}

	// Creds are what the caller's token says; Roles must hold the
	// effective roles (a Keystone token already lists implied ones).
	alice := policy.Creds{UserID: "alice", ProjectID: "p1", Roles: []string{"reader", "member"}}
	bob := policy.Creds{UserID: "bob", ProjectID: "p2", Roles: []string{"reader", "member"}}
	book := policy.Flatten("target", map[string]any{"project_id": "p1"})

	check := func() {
		for _, c := range []policy.Creds{alice, bob} {
			for _, rule := range []string{"books:get", "books:delete"} {
				// nil, or a fault of kind Forbidden with Keystone's message.
				decision := "allowed"
				if err := e.Enforce(ctx, rule, book, c); err != nil {
					decision = "denied: " + err.Error()
				}
				fmt.Fprintf(out, "  %-5s %-12s %s\n", c.UserID, rule, decision)
			}
		}
	}
	fmt.Fprintln(out, "defaults, on a book of project p1:")
	check()

	if err := e.Load([]byte(policyFile)); err != nil {
		return err
	}
	fmt.Fprintln(out, "with the operator's policy file:")
	check()
	return nil
}
