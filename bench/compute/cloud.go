package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// cloud is the all-in-one daemon under measurement, run in this
// process's network namespace with its network and compute agents, and
// its API clients.
type cloud struct {
	driver string
	dir    string // work/<driver>: data/, ovs/, logs
	data   string
	ovs    string
	starts int

	cmd  *exec.Cmd
	done chan error
	logs *logRecorder

	compute, network, image *gophercloud.ServiceClient
	imageID, flavorID       string
	netID                   string
}

func newCloud(work, driver string) *cloud {
	dir := filepath.Join(work, driver)
	return &cloud{driver: driver, dir: dir, data: filepath.Join(dir, "data"), ovs: filepath.Join(dir, "ovs")}
}

// args are the daemon's flags: TestAllInOneServers' (cmd/gostack), JSON
// logs, and room for the guests (vCPU allocation ratio 64 on 2 cores).
func (c *cloud) args() []string {
	ovsDir := c.ovs
	if c.driver == "libvirt" {
		ovsDir = "system"
	}
	return []string{"-data-dir", c.data,
		"-set", "log.format=json",
		"-set", "network.agent.host=aio", "-set", "network.agent.ovs_dir=" + ovsDir,
		"-set", "identity.password_hash_rounds=4",
		"-set", "compute.agent.host=aio", "-set", "compute.agent.driver=" + c.driver,
		"-set", "compute.agent.accel=tcg", "-set", "compute.agent.domain_type=qemu",
		"-set", "compute.agent.reserved_host_memory_mb=-1",
		"-set", "compute.agent.allocation_ratios.VCPU=64"}
}

// start runs the daemon; its logs go to gostack-<n>.log and are watched.
func (c *cloud) start(gostack string) (time.Time, error) {
	c.starts++
	f, err := os.Create(filepath.Join(c.dir, "gostack-"+strconv.Itoa(c.starts)+".log"))
	if err != nil {
		return time.Time{}, err
	}
	cmd := exec.Command(gostack, c.args()...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	c.logs = &logRecorder{}
	go c.logs.read(pr, f)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return start, err
	}
	os.WriteFile(filepath.Join(c.dir, "gostack.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	c.cmd, c.done = cmd, make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		c.done <- err
	}()
	return start, nil
}

// kill ends the daemon with SIGKILL, as a crash would.
func (c *cloud) kill() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	c.cmd = nil
}

// pid is the daemon's.
func (c *cloud) pid() int { return c.cmd.Process.Pid }

// stop ends the daemon, then its guests, dnsmasq and the private Open
// vSwitch, as TestAllInOneServers' clean-up does.
func (c *cloud) stop() {
	c.kill()
	pids, _ := filepath.Glob(filepath.Join(c.data, "compute", "qemu", "*", "qemu.pid"))
	killPidFiles(pids, c.data)
	if c.netID != "" {
		files, _ := filepath.Glob("/run/gostack/*/dhcp/" + c.netID + "/pid")
		for _, f := range files {
			killPidFile(f, c.netID, 5*time.Second)
			os.RemoveAll(filepath.Dir(f))
			os.Remove(filepath.Dir(filepath.Dir(f)))
			os.Remove(filepath.Dir(filepath.Dir(filepath.Dir(f))))
		}
		exec.Command("ip", "netns", "del", "qdhcp-"+c.netID).Run()
	}
	if c.driver != "libvirt" {
		for _, br := range []string{"br-int", "br-tun", "br-ex"} {
			cmd := exec.Command("ovs-vsctl", "--if-exists", "--timeout=5", "del-br", br)
			cmd.Env = append(os.Environ(), "OVS_RUNDIR="+c.ovs)
			cmd.Run()
		}
		for _, prog := range []string{"ovs-vswitchd", "ovsdb-server"} {
			killPidFile(filepath.Join(c.ovs, prog+".pid"), c.ovs, 5*time.Second)
		}
	}
}

// consoleLog is where the driver keeps guest id's serial log.
func (c *cloud) consoleLog(id string) string {
	return filepath.Join(c.data, "compute", c.driver, id, "console.log")
}

// healthy waits for the admin listener's /healthcheck.
func (c *cloud) healthy(ctx context.Context) error {
	for {
		resp, err := http.Get("http://127.0.0.1:8790/healthcheck")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("gostack exited: %v; its log ends:\n%s", err, c.logs.tail(30))
		case <-ctx.Done():
			return fmt.Errorf("gostack not healthy: %w; its log ends:\n%s", ctx.Err(), c.logs.tail(30))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// connect authenticates as admin and makes the API clients.
func (c *cloud) connect(ctx context.Context) (string, error) {
	pw, err := os.ReadFile(filepath.Join(c.data, "admin-password"))
	if err != nil {
		return "", err
	}
	p, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: "http://127.0.0.1:5000/v3",
		Username: "admin", Password: strings.TrimSpace(string(pw)), DomainName: "Default", TenantName: "admin", AllowReauth: true})
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	if c.compute, err = openstack.NewComputeV2(p, gophercloud.EndpointOpts{}); err != nil {
		return "", err
	}
	c.compute.Microversion = "2.79"
	if c.network, err = openstack.NewNetworkV2(p, gophercloud.EndpointOpts{}); err != nil {
		return "", err
	}
	if c.image, err = openstack.NewImageV2(p, gophercloud.EndpointOpts{}); err != nil {
		return "", err
	}
	r, ok := p.GetAuthResult().(tokens.CreateResult)
	if !ok {
		return "", errors.New("auth: no token result")
	}
	proj, err := r.ExtractProject()
	if err != nil || proj == nil {
		return "", fmt.Errorf("auth: the token's project: %v", err)
	}
	return proj.ID, nil
}

// hostUp waits until the compute agent's host is an up hypervisor.
func (c *cloud) hostUp(ctx context.Context) error {
	for {
		pages, err := hypervisors.List(c.compute, nil).AllPages(ctx)
		if err == nil {
			hs, _ := hypervisors.ExtractHypervisors(pages)
			if len(hs) == 1 && hs[0].State == "up" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no compute host up: %v %w; the log ends:\n%s", err, ctx.Err(), c.logs.tail(30))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// setup uploads the tiny image, finds m1.nano, makes a network with an
// IPv4 subnet and lifts the admin project's compute quotas.
func (c *cloud) setup(ctx context.Context, project, image string) error {
	im, err := images.Create(ctx, c.image, images.CreateOpts{Name: "tiny", DiskFormat: "raw", ContainerFormat: "bare"}).Extract()
	if err != nil {
		return fmt.Errorf("image create: %w", err)
	}
	f, err := os.Open(image)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := imagedata.Upload(ctx, c.image, im.ID, f).ExtractErr(); err != nil {
		return fmt.Errorf("image upload: %w", err)
	}
	c.imageID = im.ID
	pages, err := flavors.ListDetail(c.compute, nil).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("flavors: %w", err)
	}
	fls, _ := flavors.ExtractFlavors(pages)
	for _, fl := range fls {
		if fl.Name == "m1.nano" {
			c.flavorID = fl.ID
		}
	}
	if c.flavorID == "" {
		return errors.New("no flavor m1.nano (compute.default_flavors)")
	}
	n, err := networks.Create(ctx, c.network, networks.CreateOpts{Name: "bench"}).Extract()
	if err != nil {
		return fmt.Errorf("network create: %w", err)
	}
	c.netID = n.ID
	os.WriteFile(filepath.Join(c.dir, "network-id"), []byte(n.ID), 0o644)
	if _, err := subnets.Create(ctx, c.network, subnets.CreateOpts{NetworkID: n.ID, CIDR: "10.9.0.0/22", IPVersion: 4,
		Name: "bench-v4"}).Extract(); err != nil {
		return fmt.Errorf("subnet create: %w", err)
	}
	unlimited := -1
	if _, err := quotasets.Update(ctx, c.compute, project, quotasets.UpdateOpts{Instances: &unlimited, Cores: &unlimited,
		RAM: &unlimited}).Extract(); err != nil {
		return fmt.Errorf("quotas: %w", err)
	}
	return nil
}

// logRecorder keeps the daemon's log in a file and, with the time each
// was read, the lines the bench looks for.
type logRecorder struct {
	mu    sync.Mutex
	lines []logLine
	last  []string // the last lines, for error messages
}

// logLine is one JSON log record of interest.
type logLine struct {
	at    time.Time
	msg   string
	attrs map[string]any
}

var watched = map[string]bool{
	"compute agent: synced": true, "network agent: synced": true, "compute/qemu: started": true,
}

func (l *logRecorder) read(r io.Reader, f *os.File) {
	defer f.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		at := time.Now()
		line := sc.Text()
		f.WriteString(line + "\n")
		var rec map[string]any
		json.Unmarshal([]byte(line), &rec)
		msg, _ := rec["msg"].(string)
		l.mu.Lock()
		if watched[msg] {
			l.lines = append(l.lines, logLine{at: at, msg: msg, attrs: rec})
		}
		l.last = append(l.last, line)
		if len(l.last) > 60 {
			l.last = l.last[len(l.last)-60:]
		}
		l.mu.Unlock()
	}
	io.Copy(io.Discard, r)
}

// find returns the lines with msg, in order.
func (l *logRecorder) find(msg string) []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logLine
	for _, ln := range l.lines {
		if ln.msg == msg {
			out = append(out, ln)
		}
	}
	return out
}

func (l *logRecorder) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.last
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return strings.Join(s, "\n")
}
