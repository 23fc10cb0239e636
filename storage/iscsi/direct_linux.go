package iscsi

import (
	"errors"
	"io"
	"os"
	"syscall"
	"unsafe"
)

// directOK says whether tgtd may open path with O_DIRECT
// (bsoflags=direct): its filesystem takes O_DIRECT (tmpfs and some FUSE
// filesystems refuse it with EINVAL, which would fail the LUN) and a
// 512-byte read at a 512-byte offset, the LUN's block, which a device of
// 4 KiB logical blocks refuses (guests' 512-byte I/O would fail).
func directOK(path string) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	const page = 4096
	buf := make([]byte, 2*page)
	off := int(page - uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%page)
	_, err = f.ReadAt(buf[off:off+512], 512)
	return err == nil || errors.Is(err, io.EOF)
}
