package main

import (
	"bytes"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	want := `bcrypt hash: $2b$12$... (60 characters)
  "correct horse battery staple" matches: true
  "correct horse battery stapler" matches: false
pbkdf2 hash: $pbkdf2-sha512$25000$..., verified by the bcrypt hasher: true
sha512_crypt hash of an old Keystone matches: true
73-byte password with Strict: password: too long: bad request: the maximum is 72 bytes (too long: true)
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
