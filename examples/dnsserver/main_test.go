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
	want := `www.example.com. A: NOERROR
  www.example.com.	3600	IN	A	192.0.2.80
example.com. MX: NOERROR
  example.com.	3600	IN	MX	10 mail.example.com.
  mail.example.com.	3600	IN	A	192.0.2.25
ftp.example.com. A: NXDOMAIN
www.example.org. A: REFUSED
ftp.example.com. A: NOERROR
  ftp.example.com.	300	IN	A	192.0.2.21
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
