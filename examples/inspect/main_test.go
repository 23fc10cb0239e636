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
	want := `raw disk: raw, 4194304 bytes, virtual size 4 MiB
qcow2 disk: qcow2 v3, 1049088 bytes, virtual size 10240 MiB
qcow2 declared vmdk: format: disk_format "vmdk" but content is "qcow2": format: disk format does not match content: bad request
qcow2 on /etc/shadow: refused after 523 bytes: backing_file (image has a backing file)
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
