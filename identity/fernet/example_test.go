package fernet_test

import (
	"fmt"
	"os"
	"time"

	"github.com/gostack/gostack/identity/fernet"
)

// Issue and validate a project-scoped token with a Keystone-style key
// repository. Point OpenRepository at Keystone's own
// /etc/keystone/fernet-keys to validate Keystone's tokens.
func Example() {
	dir, _ := os.MkdirTemp("", "fernet-keys")
	defer os.RemoveAll(dir)
	keys, err := fernet.Setup(dir, fernet.DefaultMaxActiveKeys) // like keystone-manage fernet_setup
	if err != nil {
		panic(err)
	}
	f := &fernet.Formatter{Keys: keys}
	token, err := f.Issue(fernet.Payload{
		UserID:    "6a0e1f4a1b2c4d5e8f90123456789abc",
		ProjectID: "0123456789abcdef0123456789abcdef",
		Methods:   []string{"password"},
		ExpiresAt: time.Now().Add(time.Hour),
		AuditIDs:  []string{"x0tQl5zuRb-7fX-RAJ2Qnw"},
	})
	if err != nil {
		panic(err)
	}
	p, err := f.Validate(token)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(token), p.Version == fernet.ProjectScoped, p.ProjectID, p.Methods)
	// Output: 183 true 0123456789abcdef0123456789abcdef [password]
}
