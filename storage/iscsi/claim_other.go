//go:build !linux

package iscsi

import (
	"errors"
	"fmt"
	"os"
)

// Claims are extended attributes, or files aside naming an inode, which
// this package uses on Linux only.
func setClaim(path, claim string) error {
	return &os.PathError{Op: "setxattr " + claimAttr, Path: path, Err: errors.ErrUnsupported}
}

func getClaim(path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	return "", fmt.Errorf("getxattr %s: %w", path, errNoXattr)
}

func fileID(os.FileInfo) (string, bool) { return "", false }
