// Command fernet issues and validates Keystone-compatible Fernet tokens
// with a key repository laid out as Keystone lays out
// /etc/keystone/fernet-keys, and rotates its keys: a token stays valid
// while the key that made it is in the repository, and is refused once
// rotations have purged that key.
//
//	cd examples && go run ./fernet
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/identity/fernet"
)

func main() {
	dir, err := os.MkdirTemp("", "fernet-keys-")
	if err == nil {
		defer os.RemoveAll(dir)
		err = run(os.Stdout, filepath.Join(dir, "keys"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fernet:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, dir string) error {
	// keystone-manage fernet_setup: a staged key 0 and a primary key 1.
	// Three active keys at most: the staged one, the primary, one more.
	keys, err := fernet.Setup(dir, 3)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "set up, keys:", keyFiles(dir))

	// The formatter reads the keys from the repository's memory; it never
	// touches the disk to validate a token.
	tokens := &fernet.Formatter{Keys: keys}
	token, err := tokens.Issue(fernet.Payload{
		UserID:    "6a0e1f4a1b2c4d5e8f90123456789abc",
		ProjectID: "0123456789abcdef0123456789abcdef",
		Methods:   []string{"password"},
		ExpiresAt: time.Now().Add(time.Hour),
		AuditIDs:  []string{"x0tQl5zuRb-7fX-RAJ2Qnw"},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "issued a token of %d characters\n", len(token))
	validate := func() {
		p, err := tokens.Validate(token)
		if err != nil {
			fmt.Fprintln(out, "  refused:", err)
			return
		}
		fmt.Fprintf(out, "  valid: user %s, project %s, methods %v, payload version %d\n",
			p.UserID, p.ProjectID, p.Methods, p.Version)
	}
	validate()

	// keystone-manage fernet_rotate: the staged key becomes the primary,
	// a new key is staged, and keys beyond the third are purged.
	for range 2 {
		if err := keys.Rotate(); err != nil {
			return err
		}
		fmt.Fprintln(out, "rotated, keys:", keyFiles(dir))
		validate()
	}
	return nil
}

// keyFiles lists the key files of the repository in numeric order.
func keyFiles(dir string) string {
	entries, _ := os.ReadDir(dir)
	var nums []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	names := make([]string, len(nums))
	for i, n := range nums {
		names[i] = strconv.Itoa(n)
	}
	return strings.Join(names, " ")
}
