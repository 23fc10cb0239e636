package api_test

import (
	"fmt"

	"github.com/gostack/gostack/network/api"
)

// Neutron's default policy with its field: checks, ready for an
// operator's overrides.
func ExampleNewEnforcer() {
	enf, err := api.NewEnforcer()
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := enf.Load([]byte(`"create_network": "role:admin"`)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(api.Defaults()) > 80)
	// Output: true
}
