package iscsi

import (
	"os"
	"syscall"
)

// directOK says whether path's filesystem opens it with O_DIRECT, as
// tgtd will with bsoflags=direct (tmpfs and some FUSE filesystems refuse
// it with EINVAL, which would fail the LUN).
func directOK(path string) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
