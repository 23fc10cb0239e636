package main

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, filepath.Join(t.TempDir(), "keys")); err != nil {
		t.Fatal(err)
	}
	want := `set up, keys: 0 1
issued a token of 183 characters
  valid: user 6a0e1f4a1b2c4d5e8f90123456789abc, project 0123456789abcdef0123456789abcdef, methods [password], payload version 2
rotated, keys: 0 1 2
  valid: user 6a0e1f4a1b2c4d5e8f90123456789abc, project 0123456789abcdef0123456789abcdef, methods [password], payload version 2
rotated, keys: 0 2 3
  refused: fernet: invalid token: unauthorized: no key matches
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
