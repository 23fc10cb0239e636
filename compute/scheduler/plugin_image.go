package scheduler

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// imagePropertiesFilter is Nova's ImagePropertiesFilter: the image's
// hw_architecture, img_hv_type and hw_vm_mode (or their legacy names
// architecture, hypervisor_type, vm_mode), canonicalised as Nova does,
// must all appear in one of the host's supported_instances triples, and
// img_hv_requested_version (">=6.0, <7.0") must accept the host's
// hypervisor version.
type imagePropertiesFilter struct{ defaultArch string }

var (
	_ PreFilter      = imagePropertiesFilter{}
	_ OncePerRequest = imagePropertiesFilter{}
)

func newImagePropertiesFilter(cfg *Config) (Plugin, error) {
	return imagePropertiesFilter{defaultArch: cfg.ImagePropertiesDefaultArchitecture}, nil
}

func (imagePropertiesFilter) Name() string         { return "ImagePropertiesFilter" }
func (imagePropertiesFilter) OncePerRequest() bool { return true }

// imageWants is what an image asks of a host.
type imageWants struct {
	props   [3]string // architecture, hypervisor type, vm mode ("" = any)
	version []versionCheck
}

func (f imagePropertiesFilter) PreFilter(_ context.Context, st *State) (*PreFilterResult, *Status) {
	p := st.req.Image.Properties
	prop := func(current, legacy string) (string, bool) {
		if v, ok := p[current]; ok {
			return v, true
		}
		v, ok := p[legacy]
		return v, ok
	}
	arch, ok := prop("hw_architecture", "architecture")
	if !ok {
		arch = f.defaultArch
	}
	hv, _ := prop("img_hv_type", "hypervisor_type")
	mode, _ := prop("hw_vm_mode", "vm_mode")
	w := imageWants{props: [3]string{canonicalArch(arch), canonicalHVType(hv), canonicalVMMode(mode)}}
	if w.props == [3]string{} {
		return nil, NewStatus(Skip, "")
	}
	if req, _ := prop("img_hv_requested_version", "hypervisor_version_requires"); req != "" {
		checks, err := parseVersionPredicate(req)
		if err != nil {
			return nil, AsError(fmt.Errorf("%w: image property img_hv_requested_version %q: %v", ErrInvalidRequest, req, err))
		}
		w.version = checks
	}
	st.Write(f.Name(), w)
	return nil, nil
}

func (f imagePropertiesFilter) Filter(st *State, h *Host) *Status {
	w, _ := st.Read(f.Name()).(imageWants)
	if len(h.SupportedInstances) == 0 {
		return Rejectf("the image asks for %s but the host advertises no supported instances", w.describe())
	}
	for _, si := range h.SupportedInstances {
		if !w.supports(si) {
			continue
		}
		ok, err := w.versionOK(h.HypervisorVersion)
		if err != nil {
			return Rejectf("hypervisor version %d: %v", h.HypervisorVersion, err)
		}
		if ok {
			return nil
		}
	}
	return Rejectf("the image asks for %s; the host supports %v at hypervisor version %d",
		w.describe(), h.SupportedInstances, h.HypervisorVersion)
}

// supports is Nova's _compare_props: each requested property is one of
// the triple's three values (any position).
func (w imageWants) supports(si [3]string) bool {
	for _, p := range w.props {
		if p != "" && !slices.Contains(si[:], p) {
			return false
		}
	}
	return true
}

func (w imageWants) versionOK(hv int64) (bool, error) {
	if hv == 0 || len(w.version) == 0 {
		return true, nil
	}
	v, err := parseStrictVersion(versionString(hv))
	if err != nil {
		return false, err
	}
	for _, c := range w.version {
		if !c.ok(compareVersions(v, c.v)) {
			return false, nil
		}
	}
	return true, nil
}

func (w imageWants) describe() string {
	var parts []string
	for i, name := range []string{"architecture", "hypervisor type", "vm mode"} {
		if w.props[i] != "" {
			parts = append(parts, fmt.Sprintf("%s %s", name, w.props[i]))
		}
	}
	return strings.Join(parts, ", ")
}

// canonicalArch is Nova's Architecture.canonicalize.
func canonicalArch(s string) string {
	s = strings.ToLower(s)
	switch s {
	case "i386", "i486", "i586", "x86_32", "x86_32p":
		return "i686"
	case "amd64":
		return "x86_64"
	}
	return s
}

// canonicalHVType is Nova's HVType.canonicalize.
func canonicalHVType(s string) string {
	s = strings.ToLower(s)
	if s == "xapi" {
		return "xen"
	}
	return s
}

// canonicalVMMode is Nova's VMMode.canonicalize.
func canonicalVMMode(s string) string {
	s = strings.ToLower(s)
	switch s {
	case "pv":
		return "xen"
	case "hv", "baremetal":
		return "hvm"
	}
	return s
}

// versionString is oslo's convert_version_to_str: Nova's integer
// version as dotted groups of three digits (6001000 is "6.1.0").
func versionString(v int64) string {
	var parts []string
	for v != 0 {
		parts = append([]string{strconv.FormatInt(v%1000, 10)}, parts...)
		v /= 1000
	}
	return strings.Join(parts, ".")
}

// strictVersion is distutils' StrictVersion: major.minor[.patch] with an
// optional a/b pre-release.
type strictVersion struct {
	n   [3]int64
	pre byte // 0, 'a' or 'b'
	pn  int64
}

var strictRe = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?$`)

func parseStrictVersion(s string) (strictVersion, error) {
	m := strictRe.FindStringSubmatch(s)
	if m == nil {
		return strictVersion{}, fmt.Errorf("invalid version number %q", s)
	}
	var v strictVersion
	for i := range 3 {
		if m[i+1] != "" {
			v.n[i], _ = strconv.ParseInt(m[i+1], 10, 64)
		}
	}
	if m[4] != "" {
		v.pre = m[4][0]
		v.pn, _ = strconv.ParseInt(m[5], 10, 64)
	}
	return v, nil
}

func compareVersions(a, b strictVersion) int {
	for i := range 3 {
		if a.n[i] != b.n[i] {
			return cmpInt64(a.n[i], b.n[i])
		}
	}
	switch {
	case a.pre == b.pre:
		return cmpInt64(a.pn, b.pn)
	case a.pre == 0:
		return 1 // a release sorts after its pre-releases
	case b.pre == 0:
		return -1
	}
	return cmpInt64(int64(a.pre), int64(b.pre))
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// versionCheck is one comparison of a version predicate.
type versionCheck struct {
	op string
	v  strictVersion
}

func (c versionCheck) ok(cmp int) bool {
	switch c.op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case "==":
		return cmp == 0
	case "!=":
		return cmp != 0
	case ">":
		return cmp > 0
	}
	return cmp >= 0 // ">="
}

var comparisonRe = regexp.MustCompile(`^\s*(<=|>=|<|>|!=|==)\s*([^\s,]+)\s*$`)

// parseVersionPredicate reads the comparisons of a distutils
// VersionPredicate: ">=6.0, <7.0", each with a StrictVersion.
func parseVersionPredicate(s string) ([]versionCheck, error) {
	var checks []versionCheck
	for _, part := range strings.Split(s, ",") {
		m := comparisonRe.FindStringSubmatch(part)
		if m == nil {
			return nil, fmt.Errorf("bad version restriction %q", strings.TrimSpace(part))
		}
		v, err := parseStrictVersion(m[2])
		if err != nil {
			return nil, err
		}
		checks = append(checks, versionCheck{op: m[1], v: v})
	}
	return checks, nil
}

// isolatedHostsFilter is Nova's IsolatedHostsFilter: isolated images run
// only on isolated hosts and, with
// restrict_isolated_hosts_to_isolated_images, isolated hosts run only
// isolated images. With no isolated images configured, isolated hosts
// take nothing when restricted.
type isolatedHostsFilter struct {
	hosts, images Set
	restrict      bool
}

var _ OncePerRequest = isolatedHostsFilter{}

func newIsolatedHostsFilter(cfg *Config) (Plugin, error) {
	return isolatedHostsFilter{
		hosts: NewSet(cfg.IsolatedHosts...), images: NewSet(cfg.IsolatedImages...),
		restrict: cfg.RestrictIsolatedHostsToIsolatedImages,
	}, nil
}

func (isolatedHostsFilter) Name() string         { return "IsolatedHostsFilter" }
func (isolatedHostsFilter) OncePerRequest() bool { return true }

func (f isolatedHostsFilter) Filter(st *State, h *Host) *Status {
	hostIsolated := f.hosts.Has(h.Name)
	if len(f.images) == 0 {
		if f.restrict && hostIsolated {
			return Reject("isolated host, and no image is isolated")
		}
		return nil
	}
	id := st.req.Image.ID
	imageIsolated := id != "" && f.images.Has(id)
	switch {
	case imageIsolated && !hostIsolated:
		return Rejectf("image %s is isolated and the host is not an isolated host", id)
	case f.restrict && hostIsolated && !imageIsolated:
		return Rejectf("isolated host, and image %q is not an isolated image", id)
	}
	return nil
}
