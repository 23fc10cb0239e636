package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "x.db")
	if err := run(context.Background(), &out, []string{"-db", dsn}); err != nil {
		t.Fatal(err)
	}
	want := `revision 1: light hall is now on
revision 2: light porch is now on
revision 3: light hall is now off
`
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
