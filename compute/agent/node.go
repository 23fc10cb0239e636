package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
)

// report is the heartbeat: the host's service, its node and the
// inventory it offers, with the configuration's allocation ratios.
func (a *Agent) report(ctx context.Context) error {
	n, inv, err := a.node()
	if err != nil {
		return err
	}
	body := map[string]any{"node": n, "inventories": inv, "ratios": a.Config.Ratios}
	if err := a.put(ctx, "/service", body); err != nil {
		return fmt.Errorf("compute agent: report: %w", err)
	}
	return nil
}

// node reads the host: its node as Nova's libvirt driver describes it,
// and the inventory of VCPU, MEMORY_MB and DISK_GB with the reserved
// amounts of the configuration.
func (a *Agent) node() (compute.ComputeNode, map[string]placement.Inventory, error) {
	cpus := onlineCPUs()
	memMB, err := memTotalMB()
	if err != nil {
		return compute.ComputeNode{}, nil, err
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(a.Config.StateDir, &fs); err != nil {
		return compute.ComputeNode{}, nil, fmt.Errorf("compute agent: statfs %s: %w", a.Config.StateDir, err)
	}
	diskGB := int64(fs.Blocks) * fs.Bsize >> 30
	info := a.Driver.Info()
	n := compute.ComputeNode{UUID: a.nodeUUID, Host: a.Config.Host, HypervisorHostname: a.Config.Host,
		HypervisorType: info.HypervisorType, HypervisorVersion: info.HypervisorVersion, HostIP: a.Config.HostIP,
		CPUInfo: cpuInfo(cpus), VCPUs: cpus, MemoryMB: memMB, LocalGB: diskGB}
	r := a.Config.Reserved
	inv := map[string]placement.Inventory{}
	for _, c := range []struct {
		class           string
		total, reserved int64
	}{
		{placement.VCPU, cpus, int64(r.CPUs)},
		{placement.MemoryMB, memMB, r.MemoryMB},
		{placement.DiskGB, diskGB, (r.DiskMB + 1023) / 1024}, // Nova rounds up to GB
	} {
		if c.total <= 0 {
			continue
		}
		i := placement.NewInventory(c.total) // the ratio is the controller's choice from Ratios
		i.Reserved = min(max(c.reserved, 0), c.total)
		inv[c.class] = i
	}
	return n, inv, nil
}

// nodeUUID is the host's node and resource provider uuid, made once and
// kept in StateDir/node_uuid: the controller refuses a node whose uuid
// changed.
func nodeUUID(stateDir string) (string, error) {
	path := filepath.Join(stateDir, "node_uuid")
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if u, err := uuid.Parse(s); err != nil || u.String() != s {
			return "", fmt.Errorf("compute agent: %s holds %q, not a uuid", path, s)
		}
		return s, nil
	}
	if !os.IsNotExist(err) {
		return "", fmt.Errorf("compute agent: %w", err)
	}
	if err := os.MkdirAll(stateDir, 0o711); err != nil {
		return "", fmt.Errorf("compute agent: %w", err)
	}
	s := uuid.NewString()
	if err := writeFileAtomic(path, []byte(s+"\n")); err != nil {
		return "", fmt.Errorf("compute agent: %w", err)
	}
	return s, nil
}

// onlineCPUs counts /sys/devices/system/cpu/online ("0-3,6"); the Go
// runtime's count if it cannot be read.
func onlineCPUs() int64 {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return int64(runtime.NumCPU())
	}
	n := int64(0)
	for _, r := range strings.Split(strings.TrimSpace(string(b)), ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err1 := strconv.Atoi(lo)
		z := a
		var err2 error
		if isRange {
			z, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || z < a {
			return int64(runtime.NumCPU())
		}
		n += int64(z - a + 1)
	}
	return n
}

// memTotalMB is /proc/meminfo's MemTotal in MiB.
func memTotalMB() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("compute agent: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				break
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("compute agent: no MemTotal in /proc/meminfo")
}

// cpuInfo is the node's cpu_info, as Nova's libvirt driver writes it:
// architecture, vendor, model, topology and features, from
// /proc/cpuinfo.
func cpuInfo(cpus int64) string {
	info := struct {
		Arch     string         `json:"arch"`
		Vendor   string         `json:"vendor,omitempty"`
		Model    string         `json:"model,omitempty"`
		Topology map[string]int `json:"topology"`
		Features []string       `json:"features"`
	}{Arch: arch(), Features: []string{}}
	sockets, cores := map[string]bool{}, map[string]bool{}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		var socket string
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch k {
			case "vendor_id":
				info.Vendor = vendor(v)
			case "model name":
				info.Model = v
			case "physical id":
				socket = v
				sockets[v] = true
			case "core id":
				cores[socket+"/"+v] = true
			case "flags":
				if len(info.Features) == 0 {
					info.Features = strings.Fields(v)
					slices.Sort(info.Features)
				}
			}
		}
	}
	s, c := max(len(sockets), 1), max(len(cores), 1)
	threads := max(int(cpus)/c, 1)
	info.Topology = map[string]int{"cells": 1, "sockets": s, "cores": max(c/s, 1), "threads": threads}
	b, _ := json.Marshal(info)
	return string(b)
}

func arch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return runtime.GOARCH
}

func vendor(id string) string {
	switch id {
	case "GenuineIntel":
		return "Intel"
	case "AuthenticAMD":
		return "AMD"
	}
	return id
}
