//go:build !linux

package store

import "os"

// createDirect creates path for writing; O_DIRECT is used on Linux only.
func createDirect(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	return f, false, err
}

func clearDirect(*os.File) error { return nil }

func directRefused(error) bool { return false }
