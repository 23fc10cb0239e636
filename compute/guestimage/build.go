package guestimage

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
)

//go:embed files
var files embed.FS

// version changes when Build's output changes for the same inputs.
const version = "1"

// AgentPackage is the import path of the program that runs in the guest.
const AgentPackage = "github.com/gostack/gostack/compute/guestimage/guestagent"

// modules are the kernel modules the guest loads (with what they depend
// on): virtio PCI, disk and network, ISO 9660 for the config drive, and
// the ACPI power button with the event device the agent reads it from.
var modules = []string{"virtio_pci", "virtio_blk", "virtio_net", "isofs", "button", "evdev"}

// Options says where Build works and what it builds from.
type Options struct {
	// Dir keeps the downloaded packages, what was extracted from them
	// and the images built, so a second Build with the same inputs
	// returns at once. Required.
	Dir string
	// Agent is a static (CGO_ENABLED=0) linux/amd64 build of
	// AgentPackage; "" builds it with the go command, which must then
	// find the package (from this module or one that requires it).
	Agent string
	// KernelPackage and BusyboxPackage are the Debian packages used;
	// defaults: what linux-image-amd64 depends on, and busybox-static.
	KernelPackage, BusyboxPackage string
	Log                           *slog.Logger
}

// Image is a built guest image: a raw disk whose only filesystem (FAT,
// with SYSLINUX in its boot sector) holds the kernel, the initramfs and
// the boot configuration. The guest runs from the initramfs; the disk is
// only read at boot.
type Image struct {
	Path   string // the raw disk
	Size   int64
	Kernel string // the kernel release, e.g. 6.1.0-57-amd64
	Key    string // hash of every input: same key, same image
}

func (o Options) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Build builds the tiny guest image offline from Debian packages (apt
// must reach a Debian mirror, as it does for any package install), or
// returns the one built before from the same inputs. Concurrent Builds
// over one Dir, in one process or several, wait for each other.
//
// It needs apt-get and dpkg-deb, mkfs.vfat (dosfstools), mcopy (mtools)
// and syslinux with its modules (syslinux, syslinux-common).
func Build(ctx context.Context, o Options) (Image, error) {
	if o.Dir == "" {
		return Image{}, errors.New("guestimage: Options.Dir is required")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return Image{}, err
	}
	unlock, err := lock(filepath.Join(o.Dir, ".lock"))
	if err != nil {
		return Image{}, err
	}
	defer unlock()

	if o.KernelPackage == "" {
		if o.KernelPackage, err = kernelPackage(ctx); err != nil {
			return Image{}, err
		}
	}
	if o.BusyboxPackage == "" {
		o.BusyboxPackage = "busybox-static"
	}
	kroot, err := o.extract(ctx, o.KernelPackage)
	if err != nil {
		return Image{}, err
	}
	broot, err := o.extract(ctx, o.BusyboxPackage)
	if err != nil {
		return Image{}, err
	}
	agent, err := o.agent(ctx)
	if err != nil {
		return Image{}, err
	}
	vmlinuz, release, err := findKernel(kroot)
	if err != nil {
		return Image{}, err
	}
	busybox, err := os.ReadFile(filepath.Join(broot, "bin/busybox"))
	if err != nil {
		return Image{}, fmt.Errorf("guestimage: %s: %w", o.BusyboxPackage, err)
	}

	h := sha256.New()
	fmt.Fprintf(h, "v%s\x00%s\x00%s\x00%s\x00", version, filepath.Base(kroot), filepath.Base(broot), release)
	h.Write(agent)
	_ = fs.WalkDir(files, "files", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := files.ReadFile(p)
			fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
			h.Write(b)
		}
		return nil
	})
	key := hex.EncodeToString(h.Sum(nil))[:16]
	out := filepath.Join(o.Dir, "gostack-guest-"+key+".raw")
	if st, err := os.Stat(out); err == nil {
		return Image{Path: out, Size: st.Size(), Kernel: release, Key: key}, nil
	}

	mods, err := moduleOrder(filepath.Join(kroot, "lib/modules", release), modules)
	if err != nil {
		return Image{}, err
	}
	initrd, err := initramfs(broot, busybox, agent, mods)
	if err != nil {
		return Image{}, err
	}
	kernel, err := os.ReadFile(vmlinuz)
	if err != nil {
		return Image{}, err
	}
	tmp := out + ".tmp"
	defer os.Remove(tmp)
	if err := disk(ctx, tmp, kernel, initrd); err != nil {
		return Image{}, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return Image{}, err
	}
	st, err := os.Stat(out)
	if err != nil {
		return Image{}, err
	}
	o.log().Info("guest image built", "path", out, "bytes", st.Size(), "kernel", release, "initramfs_bytes", len(initrd))
	return Image{Path: out, Size: st.Size(), Kernel: release, Key: key}, nil
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

func command(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("guestimage: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// kernelPackage is the versioned package the linux-image-amd64
// metapackage depends on.
func kernelPackage(ctx context.Context) (string, error) {
	var out []byte
	var err error
	for try := 0; try < 2; try++ {
		out, err = exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").Output()
		if err == nil && bytes.Contains(out, []byte("Depends: linux-image-")) {
			break
		}
		if try == 0 {
			_ = command(ctx, "", "apt-get", "update", "-qq")
		}
	}
	for _, l := range strings.Split(string(out), "\n") {
		if pkg, ok := strings.CutPrefix(strings.TrimSpace(l), "Depends: "); ok && strings.HasPrefix(pkg, "linux-image-") {
			return pkg, nil
		}
	}
	return "", fmt.Errorf("guestimage: no kernel package: apt-cache depends linux-image-amd64: %v: %s", err, out)
}

// extract downloads pkg's .deb into Dir/debs (once) and unpacks it into
// Dir/root/<deb name> (once); it returns that directory.
func (o Options) extract(ctx context.Context, pkg string) (string, error) {
	debs := filepath.Join(o.Dir, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", err
	}
	deb := findDeb(debs, pkg)
	if deb == "" {
		args := []string{"-o", "APT::Sandbox::User=root", "download", pkg}
		if err := command(ctx, debs, "apt-get", args...); err != nil {
			// A machine whose package lists are missing or stale.
			if uerr := command(ctx, "", "apt-get", "update", "-qq"); uerr != nil {
				return "", errors.Join(err, uerr)
			}
			if err := command(ctx, debs, "apt-get", args...); err != nil {
				return "", err
			}
		}
		if deb = findDeb(debs, pkg); deb == "" {
			return "", fmt.Errorf("guestimage: apt-get download %s left no .deb in %s", pkg, debs)
		}
	}
	root := filepath.Join(o.Dir, "root", strings.TrimSuffix(filepath.Base(deb), ".deb"))
	if _, err := os.Stat(root); err == nil {
		return root, nil
	}
	tmp := root + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return "", err
	}
	if err := command(ctx, "", "dpkg-deb", "-x", deb, tmp); err != nil {
		return "", err
	}
	o.log().Info("guest image: unpacked", "package", filepath.Base(deb))
	return root, os.Rename(tmp, root)
}

// findDeb is the newest downloaded .deb of pkg ("<pkg>_<version>_<arch>.deb").
func findDeb(dir, pkg string) string {
	m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	slices.Sort(m)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1]
}

func findKernel(root string) (path, release string, err error) {
	m, _ := filepath.Glob(filepath.Join(root, "boot/vmlinuz-*"))
	if len(m) != 1 {
		return "", "", fmt.Errorf("guestimage: want one kernel in %s/boot, found %d", root, len(m))
	}
	return m[0], strings.TrimPrefix(filepath.Base(m[0]), "vmlinuz-"), nil
}

// agent returns the agent binary: Options.Agent, or a fresh build.
func (o Options) agent(ctx context.Context) ([]byte, error) {
	if o.Agent != "" {
		return os.ReadFile(o.Agent)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(o.Dir, "agent")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", out, AgentPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("guestimage: building the guest agent: %w: %s", err, strings.TrimSpace(string(b)))
	}
	return os.ReadFile(out)
}

// moduleOrder resolves want and what they depend on (the "depends" of
// each module's .modinfo) into a load order, dependencies first.
func moduleOrder(dir string, want []string) ([]string, error) {
	paths := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".ko") {
			paths[modName(strings.TrimSuffix(d.Name(), ".ko"))] = p
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("guestimage: kernel modules: %w", err)
	}
	var order []string
	seen := map[string]bool{}
	var visit func(string) error
	visit = func(name string) error {
		name = modName(name)
		if seen[name] {
			return nil
		}
		seen[name] = true
		p, ok := paths[name]
		if !ok {
			return fmt.Errorf("guestimage: kernel module %s not found under %s", name, dir)
		}
		deps, err := modDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		order = append(order, p)
		return nil
	}
	for _, w := range want {
		if err := visit(w); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func modName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// modDepends reads "depends=" from a module's .modinfo section.
func modDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("guestimage: %s: %w", path, err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return nil, fmt.Errorf("guestimage: %s has no .modinfo", path)
	}
	b, err := s.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}

// initramfs is the guest's whole root filesystem, gzipped.
func initramfs(broot string, busybox, agent []byte, mods []string) ([]byte, error) {
	applets, err := exec.Command(filepath.Join(broot, "bin/busybox"), "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("guestimage: busybox --list-full: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	c := &cpioWriter{w: zw}
	for _, d := range []string{"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "lib", "lib/modules",
		"dev", "proc", "sys", "run", "tmp", "root", "mnt"} {
		c.dir(d)
	}
	c.char("dev/console", 5, 1)
	c.char("dev/null", 1, 3)
	c.file("bin/busybox", 0o755, busybox)
	for _, a := range strings.Fields(string(applets)) {
		if a == "bin/busybox" {
			continue
		}
		c.symlink(a, "/bin/busybox")
	}
	c.symlink("init", "/bin/busybox")
	c.file("sbin/gostack-guest", 0o755, agent)
	for name, perm := range map[string]uint32{"inittab": 0o644, "rcS": 0o755, "udhcpc.script": 0o755} {
		b, err := files.ReadFile("files/" + name)
		if err != nil {
			return nil, err
		}
		c.file("etc/"+name, perm, b)
	}
	c.file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	c.file("etc/group", 0o644, []byte("root:x:0:\n"))
	var list strings.Builder
	for _, m := range mods {
		b, err := os.ReadFile(m)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(m), ".ko")
		c.file("lib/modules/"+name+".ko", 0o644, b)
		list.WriteString(name + "\n")
	}
	c.file("etc/modules", 0o644, []byte(list.String()))
	if err := c.close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// disk writes a raw disk that is one FAT filesystem from its first
// sector (no partition table: SeaBIOS boots its boot sector, which
// SYSLINUX fills) holding the kernel, the initramfs and syslinux.cfg.
func disk(ctx context.Context, path string, kernel, initrd []byte) error {
	dir, err := os.MkdirTemp(filepath.Dir(path), "disk")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := files.ReadFile("files/syslinux.cfg")
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"vmlinuz": kernel, "initrd.gz": initrd, "syslinux.cfg": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	// Room for the files, SYSLINUX's own (about 150 KiB) and FAT's
	// tables, in whole MiB.
	kib := (len(kernel)+len(initrd))/1024 + 2048
	kib = (kib + 1023) / 1024 * 1024
	_ = os.Remove(path)
	if err := command(ctx, "", "mkfs.vfat", "-C", "-n", "GOSTACK", path, fmt.Sprint(kib)); err != nil {
		return err
	}
	if err := command(ctx, dir, "mcopy", "-i", path, "vmlinuz", "initrd.gz", "syslinux.cfg", "::/"); err != nil {
		return err
	}
	return command(ctx, "", "syslinux", "--install", path)
}
