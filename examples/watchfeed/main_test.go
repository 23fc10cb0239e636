package main

import (
	"context"
	"path/filepath"
	"testing"
)

func TestRun(t *testing.T) {
	if err := run(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "x.db")); err != nil {
		t.Fatal(err)
	}
}
