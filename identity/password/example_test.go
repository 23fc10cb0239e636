package password_test

import (
	"fmt"

	"github.com/gostack/gostack/identity/password"
)

// Keystone's default: bcrypt. Hashes made by Keystone verify here, and the
// other way round.
func Example() {
	var h password.Hasher // bcrypt, cost 12, as Keystone
	hashed, err := h.Hash("correct horse")
	if err != nil {
		panic(err)
	}
	ok, _ := h.Verify("correct horse", hashed)
	bad, _ := h.Verify("wrong horse", hashed)
	fmt.Println(hashed[:7], ok, bad)
	// A user migrated from an old Keystone with a sha512_crypt hash:
	ok, _ = h.Verify("Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")
	fmt.Println(ok)
	// Output:
	// $2b$12$ true false
	// true
}
