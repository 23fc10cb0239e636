// Command password hashes and verifies passwords the way Keystone stores
// them: Keystone's default (bcrypt, cost 12), a PBKDF2 hasher, a hash an
// older Keystone wrote, and the length rule.
//
//	cd examples && go run ./password
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gostack/gostack/identity/password"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "password:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	var bcrypt password.Hasher // the zero value is Keystone's default
	hashed, err := bcrypt.Hash("correct horse battery staple")
	if err != nil {
		return err
	}
	// The salt is random; the prefix names the format and the cost.
	fmt.Fprintf(out, "bcrypt hash: %s... (%d characters)\n", hashed[:7], len(hashed))
	for _, try := range []string{"correct horse battery staple", "correct horse battery stapler"} {
		ok, err := bcrypt.Verify(try, hashed)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %q matches: %v\n", try, ok)
	}

	// Another algorithm, as [identity] password_hash_algorithm picks it.
	// Any Hasher verifies every format Keystone accepts.
	pbkdf2 := password.Hasher{Algorithm: password.PBKDF2SHA512, Rounds: 25000}
	hashed, err = pbkdf2.Hash("s3cret")
	if err != nil {
		return err
	}
	ok, err := bcrypt.Verify("s3cret", hashed)
	if err != nil {
		return err
	}
	head := strings.Join(strings.Split(hashed, "$")[:3], "$") // "$pbkdf2-sha512$<rounds>"
	fmt.Fprintf(out, "pbkdf2 hash: %s$..., verified by the bcrypt hasher: %v\n", head, ok)

	// A user moved from an old Keystone keeps its sha512_crypt hash.
	ok, err = bcrypt.Verify("Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sha512_crypt hash of an old Keystone matches: %v\n", ok)

	// bcrypt reads 72 bytes; Strict refuses longer passwords instead of
	// cutting them as Keystone does.
	strict := password.Hasher{Strict: true}
	_, err = strict.Hash(strings.Repeat("x", 73))
	fmt.Fprintf(out, "73-byte password with Strict: %v (too long: %v)\n", err, errors.Is(err, password.ErrTooLong))
	return nil
}
