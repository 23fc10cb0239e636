package main

import (
	"bytes"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	want := `3 events
  alice's token                  revoked: false
  alice's revoked token          revoked: true
  mallory's token                revoked: true
  mallory's token, issued after  revoked: false
  bob's admin token on p1        revoked: true
  bob's admin token on p2        revoked: false
a day later, pruned 3 events, 0 left
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
