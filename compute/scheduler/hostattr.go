package scheduler

// hostAttr is getattr(host_state, name) on the Nova HostState that h
// stands for: ok is false when HostState has no such attribute, and a
// nil value is None. ComputeCapabilitiesFilter and JsonFilter read
// hosts through it, by Nova's attribute names.
func hostAttr(h *Host, name string) (v any, ok bool) {
	switch name {
	case "host":
		return h.Name, true
	case "nodename", "hypervisor_hostname":
		return h.Node, true
	case "uuid":
		return h.UUID, true
	case "host_ip":
		return noneIfEmpty(h.HostIP), true
	case "total_usable_ram_mb":
		return h.TotalUsableRAMMB, true
	case "total_usable_disk_gb":
		return h.TotalUsableDiskGB, true
	case "disk_mb_used":
		return h.DiskMBUsed, true
	case "free_ram_mb":
		return h.FreeRAMMB, true
	case "free_disk_mb":
		return h.FreeDiskMB, true
	case "vcpus_total":
		return h.VCPUsTotal, true
	case "vcpus_used":
		return h.VCPUsUsed, true
	case "num_instances":
		return h.NumInstances, true
	case "num_io_ops":
		return h.NumIOOps, true
	case "failed_builds":
		return h.FailedBuilds, true
	case "hypervisor_type":
		return noneIfEmpty(h.HypervisorType), true
	case "hypervisor_version":
		return h.HypervisorVersion, true
	case "cpu_info":
		return noneIfEmpty(h.CPUInfo), true
	case "cpu_allocation_ratio":
		return h.CPUAllocationRatio, true
	case "ram_allocation_ratio":
		return h.RAMAllocationRatio, true
	case "disk_allocation_ratio":
		return h.DiskAllocationRatio, true
	case "supported_instances":
		l := make([]any, len(h.SupportedInstances))
		for i, s := range h.SupportedInstances {
			l[i] = []any{s[0], s[1], s[2]}
		}
		return l, true
	case "stats":
		m := make(map[string]any, len(h.Stats))
		for k, v := range h.Stats {
			m[k] = v
		}
		return m, true
	case "service":
		return map[string]any{"host": h.Name, "disabled": h.Disabled, "disabled_reason": noneIfEmpty(h.DisabledReason)}, true
	case "instances":
		m := make(map[string]any, len(h.Instances))
		for k := range h.Instances {
			m[k] = k
		}
		return m, true
	case "limits":
		return map[string]any{}, true
	case "aggregates":
		l := make([]any, len(h.Aggregates))
		for i := range h.Aggregates {
			l[i] = aggregateValue{}
		}
		return l, true
	case "pci_stats", "numa_topology", "metrics", "cell_uuid", "updated":
		return nil, true
	}
	return nil, false
}

// aggregateValue stands for an Aggregate object inside a HostState
// value: it is not a number, string or container.
type aggregateValue struct{}

func noneIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// capability walks a capabilities extra spec's scope ("cpu_info",
// "features") into h as Nova's ComputeCapabilitiesFilter does: the first
// name is a HostState attribute, or a stat when the attribute is missing
// or None; a string on the way is parsed as JSON; a dict is indexed. It
// returns nil (None) when the walk fails.
func capability(h *Host, scope []string) any {
	var cur any = h
	for _, name := range scope {
		if s, ok := cur.(string); ok {
			v, err := pyJSON(s)
			if err != nil {
				return nil
			}
			cur = v
		}
		switch c := cur.(type) {
		case *Host:
			v, _ := hostAttr(c, name)
			if v == nil {
				if s, ok := c.Stats[name]; ok {
					v = s
				}
			}
			cur = v
		case map[string]any:
			cur = c[name]
		default:
			return nil
		}
		if cur == nil {
			return nil
		}
	}
	return cur
}

// hasCapability is Nova's test for an unscoped extra spec key: the
// HostState has the attribute or the stats have the key.
func hasCapability(h *Host, key string) bool {
	if _, ok := hostAttr(h, key); ok {
		return true
	}
	_, ok := h.Stats[key]
	return ok
}
