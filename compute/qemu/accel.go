package qemu

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var versionRE = regexp.MustCompile(`version (\d+)\.(\d+)(?:\.(\d+))?`)

// parseVersion reads `qemu-system-x86_64 --version` into Nova's
// encoding, major*1000000 + minor*1000 + micro.
func parseVersion(out string) (int64, error) {
	m := versionRE.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("compute/qemu: no version in %.80q", out)
	}
	var v int64
	for i, scale := range []int64{1000000, 1000, 1} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n >= 1000 && i > 0 {
			return 0, fmt.Errorf("compute/qemu: version %q out of range", m[0])
		}
		v += n * scale
	}
	return v, nil
}

// detectAccel is "kvm" when /dev/kvm opens read-write and runs a guest
// of one hlt instruction, "tcg" otherwise. A /dev/kvm that opens but
// cannot run a vCPU (some nested setups) is tcg.
func detectAccel() string {
	if runtime.GOARCH != "amd64" {
		return "tcg"
	}
	done := make(chan bool, 1)
	go func() { done <- kvmRuns() }()
	select {
	case ok := <-done:
		if ok {
			return "kvm"
		}
	case <-time.After(3 * time.Second):
		// A vCPU that does not come back is no accelerator; the probe's
		// goroutine ends with KVM_RUN.
	}
	return "tcg"
}

// KVM ioctls (linux/kvm.h).
const (
	kvmGetAPIVersion       = 0xAE00
	kvmCreateVM            = 0xAE01
	kvmGetVCPUMmapSize     = 0xAE04
	kvmCreateVCPU          = 0xAE41
	kvmSetUserMemoryRegion = 0x4020AE46
	kvmRun                 = 0xAE80
	kvmExitHLT             = 5
)

// kvmRuns maps one page at the x86 reset vector holding hlt, runs a
// vCPU from reset and expects it to exit on that hlt.
func kvmRuns() bool {
	kvm, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(kvm)
	if v, err := ioctl(kvm, kvmGetAPIVersion, 0); err != nil || v != 12 {
		return false
	}
	vm, err := ioctl(kvm, kvmCreateVM, 0)
	if err != nil {
		return false
	}
	defer unix.Close(vm)
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return false
	}
	defer unix.Munmap(mem)
	mem[0xff0] = 0xf4 // hlt at 0xfffffff0, where a vCPU starts
	region := struct {
		slot, flags             uint32
		guestPhys, size, userVA uint64
	}{guestPhys: 0xfffff000, size: 4096, userVA: uint64(uintptr(unsafe.Pointer(&mem[0])))}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(vm), kvmSetUserMemoryRegion, uintptr(unsafe.Pointer(&region))); errno != 0 {
		return false
	}
	vcpu, err := ioctl(vm, kvmCreateVCPU, 0)
	if err != nil {
		return false
	}
	defer unix.Close(vcpu)
	size, err := ioctl(kvm, kvmGetVCPUMmapSize, 0)
	if err != nil || size < 12 {
		return false
	}
	run, err := unix.Mmap(vcpu, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return false
	}
	defer unix.Munmap(run)
	for {
		_, err := ioctl(vcpu, kvmRun, 0)
		if err == unix.EINTR {
			continue
		}
		// struct kvm_run: two bytes, six of padding, then exit_reason.
		return err == nil && binary.NativeEndian.Uint32(run[8:12]) == kvmExitHLT
	}
}

func ioctl(fd int, req, arg uintptr) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
