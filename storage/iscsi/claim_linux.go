package iscsi

import (
	"errors"
	"os"
	"syscall"
)

func setClaim(path, claim string) error {
	if err := syscall.Setxattr(path, claimAttr, []byte(claim), 0); err != nil {
		return &os.PathError{Op: "setxattr " + claimAttr, Path: path, Err: err}
	}
	return nil
}

// getClaim is path's claim ("" for none); os.ErrNotExist when there is
// no file.
func getClaim(path string) (string, error) {
	buf := make([]byte, 256)
	n, err := syscall.Getxattr(path, claimAttr, buf)
	switch {
	case errors.Is(err, syscall.ENODATA):
		return "", nil
	case err != nil:
		return "", &os.PathError{Op: "getxattr " + claimAttr, Path: path, Err: err}
	}
	return string(buf[:n]), nil
}
