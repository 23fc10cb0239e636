package main

import (
	"bytes"
	"context"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := `defaults, on a book of project p1:
  alice books:get    allowed
  alice books:delete allowed
  bob   books:get    denied: You are not authorized to perform the requested action: books:get.
  bob   books:delete denied: You are not authorized to perform the requested action: books:delete.
with the operator's policy file:
  alice books:get    allowed
  alice books:delete denied: You are not authorized to perform the requested action: books:delete.
  bob   books:get    denied: You are not authorized to perform the requested action: books:get.
  bob   books:delete denied: You are not authorized to perform the requested action: books:delete.
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
