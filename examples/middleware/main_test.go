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
	const unauthorized = `401 {"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}`
	want := `no token: ` + unauthorized + `
unknown token: ` + unauthorized + `
alice's token: 200 hello alice of project demo, roles member,reader
alice's token, forged X-Roles: 200 hello alice of project demo, roles member,reader
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
