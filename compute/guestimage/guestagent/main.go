// Command guestagent is the program inside the tiny guest image: busybox init
// starts it once the root filesystem (the initramfs) and the kernel
// modules are up. It does what cloud-init does for a CirrOS-sized guest:
//
//   - brings every ethernet interface up with busybox's udhcpc (the lease
//     script sets the address, routes, MTU and resolver), and, once the
//     guest is ready, each one hot-plugged later; it says which ones go;
//   - says each disk, at boot and, once the guest is ready, as disks are
//     hot-plugged and unplugged (volumes attached and detached): its
//     name, serial (the volume id), size and first 16 bytes;
//   - reads the instance's metadata from a config drive (an ISO 9660
//     filesystem labelled config-2) or, without one, from the metadata
//     service at 169.254.169.254 (OpenStack paths);
//   - sets the hostname, writes the public keys to
//     /root/.ssh/authorized_keys, and runs user data that starts with
//     "#!";
//   - answers HTTP on port 80 with its hostname, to prove reachability;
//   - powers the guest off when the ACPI power button is pressed (a
//     clean shutdown request from the hypervisor).
//
// Everything it does is printed to the console as lines that start with
// "gostack-guest: "; the last line of a boot is "gostack-guest: ready".
// It is built statically (CGO_ENABLED=0) by package guestimage.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// metadataURL is the metadata service's OpenStack root.
const metadataURL = "http://169.254.169.254/openstack/latest/"

func say(format string, args ...any) {
	fmt.Printf("gostack-guest: "+format+"\n", args...)
}

func main() {
	go powerButton()
	nics, addrs := network()
	md, userData, source := metadata()
	name := "gostack-guest"
	if md != nil {
		say("metadata from %s: uuid %s", source, md.UUID)
		if h := hostname(md); h != "" {
			name = h
		}
		keys(md)
	} else {
		say("no metadata: no config drive, and the metadata service did not answer")
	}
	if err := os.WriteFile("/proc/sys/kernel/hostname", []byte(name), 0o644); err != nil {
		say("hostname: %v", err)
	}
	say("hostname %s", name)
	runUserData(userData)
	go serveHTTP(name, md)
	disks := bootDisks()
	say("ready hostname=%s addr=%s", name, strings.Join(addrs, ","))
	go watchDisks(disks)
	watchNICs(nics)
}

// network runs udhcpc on every ethernet interface, all at once (a
// NIC without a DHCP server costs its 10 s once, not once each), and
// returns the interfaces (name to MAC) and the addresses the leases
// gave, in the interfaces' order.
func network() (map[string]string, []string) {
	nics := ethernet()
	run("ip", "link", "set", "lo", "up")
	leases := make([]string, len(nics))
	var wg sync.WaitGroup
	for i, n := range nics {
		say("nic %s at boot %s", n.name, n.mac)
		wg.Add(1)
		go func() {
			defer wg.Done()
			leases[i] = dhcp(n.name)
		}()
	}
	wg.Wait()
	known := map[string]string{}
	var addrs []string
	for i, n := range nics {
		known[n.name] = n.mac
		if leases[i] != "" {
			addrs = append(addrs, leases[i])
		}
	}
	return known, addrs
}

type nic struct{ name, mac string }

// ethernet is the guest's ethernet interfaces, in the kernel's order.
func ethernet() []nic {
	ifaces, _ := net.Interfaces()
	var out []nic
	for _, i := range ifaces {
		if i.Flags&net.FlagLoopback == 0 && len(i.HardwareAddr) == 6 {
			out = append(out, nic{i.Name, i.HardwareAddr.String()})
		}
	}
	return out
}

// dhcp brings interface n up and asks for a lease; it returns the
// address the lease gave ("" for none).
func dhcp(n string) string {
	run("ip", "link", "set", n, "up")
	// -n: give up when no lease comes (10 tries, 1 s apart); with a
	// lease udhcpc goes to the background and renews it. -p: its pid,
	// to stop it when the interface goes.
	out, err := exec.Command("udhcpc", "-i", n, "-s", "/etc/udhcpc.script", "-p", pidFile(n), "-t", "10", "-T", "1", "-A", "1", "-n",
		"-O", "mtu", "-O", "staticroutes", "-x", "hostname:gostack-guest").CombinedOutput()
	if err != nil {
		say("dhcp on %s failed: %v: %s", n, err, strings.TrimSpace(string(out)))
		return ""
	}
	a, _ := os.ReadFile("/run/lease." + n)
	say("dhcp on %s: %s", n, strings.TrimSpace(string(a)))
	if ip := strings.Fields(string(a)); len(ip) > 0 {
		return ip[0]
	}
	return ""
}

func pidFile(n string) string { return "/run/udhcpc." + n + ".pid" }

// watchNICs looks at the ethernet interfaces every second, from those
// of the boot on, for ever: one that appears (a NIC hot-plugged) is
// said and brought up with DHCP as at boot; one that goes (unplugged)
// is said and its udhcpc stopped. An interface whose MAC changed
// between two looks went and another came.
func watchNICs(known map[string]string) {
	for range time.Tick(time.Second) {
		nics := ethernet()
		now := map[string]string{}
		for _, n := range nics {
			now[n.name] = n.mac
		}
		for _, n := range slices.Sorted(maps.Keys(known)) {
			if now[n] != known[n] {
				say("nic %s gone %s", n, known[n])
				stopDHCP(n)
				delete(known, n)
			}
		}
		for _, n := range nics {
			if _, ok := known[n.name]; !ok {
				known[n.name] = n.mac
				say("nic %s appeared %s", n.name, n.mac)
				go dhcp(n.name)
			}
		}
	}
}

// stopDHCP ends the udhcpc of interface n (trying or renewing) and
// forgets its lease.
func stopDHCP(n string) {
	os.Remove("/run/lease." + n)
	b, err := os.ReadFile(pidFile(n))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return
	}
	// Only if the pid is still that udhcpc's, not one reused since.
	cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if args := strings.Split(string(cmd), "\x00"); len(args) > 2 && strings.HasSuffix(args[0], "udhcpc") && slices.Contains(args, n) {
		syscall.Kill(pid, syscall.SIGTERM)
	}
}

func run(name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		say("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}

// metaData is the part of Nova's openstack/latest/meta_data.json used here.
type metaData struct {
	UUID       string            `json:"uuid"`
	Name       string            `json:"name"`
	Hostname   string            `json:"hostname"`
	PublicKeys map[string]string `json:"public_keys"`
	Keys       []struct {
		Name string `json:"name"`
		Type string `json:"type"`
		Data string `json:"data"`
	} `json:"keys"`
}

// metadata reads the config drive, else the metadata service.
func metadata() (*metaData, []byte, string) {
	if dir, ok := configDrive(); ok {
		md, ud, err := readDrive(dir)
		if err == nil {
			return md, ud, "config drive"
		}
		say("config drive: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, ud, err := readService()
		if err == nil {
			return md, ud, "metadata service"
		}
		if time.Now().After(deadline) {
			say("metadata service: %v", err)
			return nil, nil, ""
		}
		time.Sleep(time.Second)
	}
}

// configDrive mounts the first block device with an ISO 9660 filesystem
// labelled config-2 (what Nova writes) and returns its mount point.
func configDrive() (string, bool) {
	devs, _ := filepath.Glob("/sys/class/block/*")
	for _, d := range devs {
		dev := "/dev/" + filepath.Base(d)
		if isoLabel(dev) != "config-2" {
			continue
		}
		dir := "/mnt/config"
		_ = os.MkdirAll(dir, 0o755)
		if err := syscall.Mount(dev, dir, "iso9660", syscall.MS_RDONLY, ""); err != nil {
			say("config drive %s: mount: %v", dev, err)
			continue
		}
		say("config drive %s", dev)
		return dir, true
	}
	return "", false
}

// isoLabel reads the volume identifier of an ISO 9660 primary volume
// descriptor (sector 16), "" if dev has none.
func isoLabel(dev string) string {
	f, err := os.Open(dev)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 2048)
	if _, err := f.ReadAt(b, 16*2048); err != nil {
		return ""
	}
	if b[0] != 1 || string(b[1:6]) != "CD001" {
		return ""
	}
	return strings.TrimRight(string(b[40:72]), " ")
}

func readDrive(dir string) (*metaData, []byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, "openstack/latest/meta_data.json"))
	if err != nil {
		return nil, nil, err
	}
	var md metaData
	if err := json.Unmarshal(b, &md); err != nil {
		return nil, nil, fmt.Errorf("meta_data.json: %w", err)
	}
	ud, err := os.ReadFile(filepath.Join(dir, "openstack/latest/user_data"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	return &md, ud, nil
}

func readService() (*metaData, []byte, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	get := func(path string) ([]byte, int, error) {
		r, err := c.Get(metadataURL + path)
		if err != nil {
			return nil, 0, err
		}
		defer r.Body.Close()
		b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		return b, r.StatusCode, err
	}
	b, code, err := get("meta_data.json")
	if err != nil {
		return nil, nil, err
	}
	if code != http.StatusOK {
		return nil, nil, fmt.Errorf("meta_data.json: HTTP %d", code)
	}
	var md metaData
	if err := json.Unmarshal(b, &md); err != nil {
		return nil, nil, fmt.Errorf("meta_data.json: %w", err)
	}
	ud, code, err := get("user_data")
	switch {
	case err != nil:
		return nil, nil, err
	case code == http.StatusNotFound:
		ud = nil
	case code != http.StatusOK:
		return nil, nil, fmt.Errorf("user_data: HTTP %d", code)
	}
	return &md, ud, nil
}

// hostname is Nova's hostname, else the name, cut to a DNS label.
func hostname(md *metaData) string {
	h := md.Hostname
	if h == "" {
		h = md.Name
	}
	h, _, _ = strings.Cut(h, ".")
	if len(h) > 63 {
		h = h[:63]
	}
	return h
}

func keys(md *metaData) {
	var lines []string
	for _, k := range md.Keys {
		if k.Type == "" || k.Type == "ssh" {
			lines = append(lines, strings.TrimSpace(k.Data))
		}
	}
	for _, k := range md.PublicKeys {
		if k = strings.TrimSpace(k); !slices.Contains(lines, k) {
			lines = append(lines, k)
		}
	}
	if len(lines) == 0 {
		return
	}
	if err := os.MkdirAll("/root/.ssh", 0o700); err == nil {
		err = os.WriteFile("/root/.ssh/authorized_keys", []byte(strings.Join(lines, "\n")+"\n"), 0o600)
		if err != nil {
			say("ssh keys: %v", err)
			return
		}
	}
	say("ssh keys %d", len(lines))
}

// runUserData runs a user-data script ("#!" first); anything else (a
// cloud-config, say) is not understood here and only reported.
func runUserData(ud []byte) {
	switch {
	case len(ud) == 0:
		return
	case !bytes.HasPrefix(ud, []byte("#!")):
		say("user-data of %d bytes is not a script: not run", len(ud))
		return
	}
	path := "/run/user-data"
	if err := os.WriteFile(path, ud, 0o700); err != nil {
		say("user-data: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		say("user-data: %v", err)
		return
	}
	say("user-data exit %d", code)
}

func serveHTTP(name string, md *metaData) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s\n", name)
	})
	mux.HandleFunc("GET /instance-id", func(w http.ResponseWriter, r *http.Request) {
		if md != nil {
			fmt.Fprintf(w, "%s\n", md.UUID)
		}
	})
	err := http.ListenAndServe(":80", mux)
	say("http: %v", err)
}

// powerButton waits for KEY_POWER on any input device (the ACPI power
// button the hypervisor presses for a clean shutdown) and powers off
// through init, which stops everything and syncs first.
func powerButton() {
	const evKey, keyPower = 1, 116
	devs, _ := filepath.Glob("/dev/input/event*")
	for _, d := range devs {
		go func() {
			f, err := os.Open(d)
			if err != nil {
				return
			}
			defer f.Close()
			// struct input_event on 64-bit: timeval (16), type, code (u16), value (s32).
			ev := make([]byte, 24)
			for {
				if _, err := io.ReadFull(f, ev); err != nil {
					return
				}
				typ, code := binary.LittleEndian.Uint16(ev[16:]), binary.LittleEndian.Uint16(ev[18:])
				if typ == evKey && code == keyPower && binary.LittleEndian.Uint32(ev[20:]) == 1 {
					say("power button: powering off")
					run("poweroff")
				}
			}
		}()
	}
}
