package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// bareArgs is compute/qemu's command line (cmdline.go) for a guest of
// m1.nano (128 MiB, 1 vCPU) under TCG with its root disk, and no NIC and
// no config drive: the physical limit of a boot on this machine.
func bareArgs(dir string) []string {
	id := uuid.NewString()
	root, _ := json.Marshal(map[string]any{"node-name": "root", "driver": "qcow2", "discard": "unmap",
		"file": map[string]any{"driver": "file", "filename": filepath.Join(dir, "disk")}})
	dev, _ := json.Marshal(map[string]any{"driver": "virtio-blk-pci", "id": "root", "drive": "root", "bootindex": 1, "serial": id})
	return []string{
		"-name", "guest=bare,debug-threads=on",
		"-uuid", id,
		"-machine", "pc,accel=tcg",
		"-m", "128",
		"-smp", "1",
		"-nodefaults", "-no-user-config", "-nographic",
		"-chardev", "socket,id=console,path=" + filepath.Join(dir, "console.sock") + ",server=on,wait=off,logfile=" +
			filepath.Join(dir, "console.log") + ",logappend=on",
		"-serial", "chardev:console",
		"-chardev", "socket,id=qmp,path=" + filepath.Join(dir, "qmp.sock") + ",server=on,wait=off",
		"-mon", "chardev=qmp,mode=control",
		"-pidfile", filepath.Join(dir, "qemu.pid"),
		"-D", filepath.Join(dir, "qemu.log"),
		"-daemonize",
		"-blockdev", string(root),
		"-device", string(dev),
	}
}

// bareBoot starts n QEMUs at once by hand, each on a qcow2 overlay of
// image made beforehand (as the agent makes one, of the flavor's 1 GB),
// and returns each one's console marks from its own exec. They are
// killed once their kernel's line is out.
func bareBoot(ctx context.Context, work, image string, n int) ([]marks, error) {
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = filepath.Join(work, "bare", strconv.Itoa(i))
		os.RemoveAll(dirs[i])
		if err := os.MkdirAll(dirs[i], 0o700); err != nil {
			return nil, err
		}
		disk := filepath.Join(dirs[i], "disk")
		if out, err := exec.CommandContext(ctx, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", image, disk, "1G").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("qemu-img create: %v: %s", err, out)
		}
	}
	defer func() {
		for _, d := range dirs {
			killPidFile(filepath.Join(d, "qemu.pid"), d, 5*time.Second)
			os.RemoveAll(d)
		}
	}()
	out := make([]marks, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if b, err := exec.Command("qemu-system-x86_64", bareArgs(dirs[i])...).CombinedOutput(); err != nil {
				log, _ := os.ReadFile(filepath.Join(dirs[i], "qemu.log"))
				errs[i] = fmt.Errorf("qemu-system-x86_64: %v: %s %s", err, b, log)
				return
			}
			out[i] = watchConsole(ctx, filepath.Join(dirs[i], "console.log"), start, false)
			if out[i].kernel == 0 {
				errs[i] = fmt.Errorf("bare guest %d: no kernel line on its console: %v", i, ctx.Err())
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
