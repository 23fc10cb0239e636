package iscsi

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

func setClaim(path, claim string) error {
	if err := syscall.Setxattr(path, claimAttr, []byte(claim), 0); err != nil {
		return xattrError("setxattr", path, err)
	}
	return nil
}

// getClaim is path's claim ("" for none); os.ErrNotExist when there is
// no file, errNoXattr when its file system has no user attributes.
func getClaim(path string) (string, error) {
	buf := make([]byte, 256)
	n, err := syscall.Getxattr(path, claimAttr, buf)
	switch {
	case errors.Is(err, syscall.ENODATA):
		return "", nil
	case err != nil:
		return "", xattrError("getxattr", path, err)
	}
	return string(buf[:n]), nil
}

func xattrError(op, path string, err error) error {
	pe := &os.PathError{Op: op + " " + claimAttr, Path: path, Err: err}
	if errors.Is(err, syscall.EOPNOTSUPP) { // ENOTSUP too: the same on Linux
		return fmt.Errorf("%w: %w", errNoXattr, pe)
	}
	return pe
}

// fileID is the device and inode of fi, which a link keeps.
func fileID(fi os.FileInfo) (string, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("%d %d", st.Dev, st.Ino), true
}
