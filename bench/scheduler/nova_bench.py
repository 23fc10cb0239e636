"""Time Nova's own scheduler filters and weighers, for bench/scheduler.

Reads {"hosts": [N, ...], "runs": R, "seconds": S} on stdin (every key
optional) and prints JSON: per N the median, min and p99 milliseconds of
one decision (at least R runs, more while under S seconds), and how many
hosts passed the filters.

One decision is what Nova's FilterScheduler does for one instance once
Placement has answered: HostManager.get_filtered_hosts over the default
enabled_filters (ComputeFilter, ComputeCapabilitiesFilter,
ImagePropertiesFilter, ServerGroupAntiAffinityFilter,
ServerGroupAffinityFilter), then HostManager.get_weighed_hosts over all
the weighers Nova ships (nova.scheduler.weights.all_weighers), then the
pick among the best host_subset_size (1). Nova's own methods run; the
HostManager is made without its __init__, which would read aggregates
and instances from a cell database, and its filters and weighers are
loaded as __init__ does. Nova 26's weighers are not quite gostack's: it
has the CrossCell, Metrics and PCI weighers and not the NumInstances and
HypervisorVersion weighers of 2024.1; they all run as shipped.
servicegroup's service_is_up is replaced by a look-up of an "up" flag in
each host's service dict (the DB driver would compare heartbeat times:
slower, so this favours Nova).

The hosts are HostState objects with the figures of gostack's
BenchmarkSchedule (compute/scheduler synthHosts): 16/32/64/96 VCPUs at
ratio 4, 4 GiB of RAM a VCPU with 512 MB reserved, 2,000 GB of disk,
random usage, io ops, instance counts, a build failure on 1 host in 50,
hypervisor versions 6.2/7.2/8.2, 1 in 100 disabled, 1 in 200 down, three
zone aggregates and a ram_weight_multiplier aggregate on every tenth
host. Python's random is not Go's PCG, so the hosts are alike, not
identical. The flavor is BenchmarkSchedule's m1.small (1 VCPU, 2048 MB,
20 GB, no extra specs); Nova's default filters do not look at its size
(Placement did). All N hosts are given to the filters, as in gostack's
benchmark.

Needs Debian's python3-nova under /usr/bin/python3.
"""
import json
import logging
import random
import statistics
import sys
import time
import warnings
from unittest import mock


def setup():
    import nova.conf
    from nova import objects

    objects.register_all()
    nova.conf.CONF([], project="nova", default_config_files=[])
    return nova.conf.CONF


def host_manager():
    from nova.scheduler import filters
    from nova.scheduler import host_manager as hm
    from nova.scheduler import weights
    from nova import servicegroup

    CONF = __import__("nova.conf").conf.CONF
    m = hm.HostManager.__new__(hm.HostManager)
    with mock.patch.object(servicegroup.API, "__init__", return_value=None):
        m.filter_handler = filters.HostFilterHandler()
        classes = m.filter_handler.get_matching_classes(CONF.filter_scheduler.available_filters)
        m.filter_cls_map = {c.__name__: c for c in classes}
        m.filter_obj_map = {}
        m.enabled_filters = m._choose_host_filters(m._load_filters())
    m.weight_handler = weights.HostWeightHandler()
    wc = m.weight_handler.get_matching_classes(CONF.filter_scheduler.weight_classes)
    m.weighers = [c() for c in wc]
    return m


def synth_hosts(n, seed=1):
    from nova import objects
    from nova.scheduler import host_manager as hm

    rng = random.Random(seed)
    azs = [objects.Aggregate(id=i + 1, uuid="az%d" % i, name="az%d" % i, hosts=[],
                             metadata={"availability_zone": "az%d" % i}) for i in range(3)]
    agg = objects.Aggregate(id=10, uuid="agg", name="agg", hosts=[], metadata={"ram_weight_multiplier": "2"})
    hosts = []
    for i in range(n):
        name = "host-%05d" % i
        h = hm.HostState(name, name, "cell1")
        vcpus = rng.choice([16, 32, 64, 96])
        ram = vcpus * 4096
        disk = 2000
        used_cpu = rng.randint(0, vcpus * 4)
        used_ram = rng.randrange(ram)
        used_disk = rng.randrange(disk)
        h.uuid = "rp-" + name
        h.total_usable_ram_mb = ram
        h.free_ram_mb = ram - 512 - used_ram
        h.ram_allocation_ratio = 1.0
        h.total_usable_disk_gb = disk
        h.free_disk_mb = (disk - used_disk) * 1024
        h.disk_mb_used = used_disk * 1024
        h.disk_allocation_ratio = 1.0
        h.vcpus_total = vcpus
        h.vcpus_used = used_cpu
        h.cpu_allocation_ratio = 4.0
        h.num_instances = rng.randrange(40)
        h.num_io_ops = rng.randrange(10)
        h.failed_builds = rng.randrange(50) // 49
        h.hypervisor_type = "QEMU"
        h.hypervisor_version = rng.choice([6002000, 7002000, 8002000])
        h.hypervisor_hostname = name
        h.supported_instances = [("x86_64", "kvm", "hvm")]
        h.service = {"host": name, "disabled": rng.randrange(100) == 0, "forced_down": False,
                     "up": rng.randrange(200) != 0}
        h.aggregates = [azs[i % 3]] + ([agg] if i % 10 == 0 else [])
        h.instances = {"m-%d" % (i % 3): None} if i % 97 == 0 else {}
        h.limits = {}
        hosts.append(h)
    return hosts


def request_spec():
    from nova import objects

    flavor = objects.Flavor(name="m1.small", flavorid="2", vcpus=1, memory_mb=2048, root_gb=20,
                            ephemeral_gb=0, swap=0, extra_specs={})
    return objects.RequestSpec(
        instance_uuid="00000000-0000-0000-0000-000000000001", num_instances=1, flavor=flavor,
        image=objects.ImageMeta(properties=objects.ImageMetaProps()), instance_group=None,
        ignore_hosts=None, force_hosts=None, force_nodes=None, requested_destination=None,
        scheduler_hints={}, project_id="p", user_id="u", availability_zone=None,
        pci_requests=objects.InstancePCIRequests(requests=[]), is_bfv=False)


def decide(m, hosts, spec, subset, rng):
    passed = list(m.get_filtered_hosts(hosts, spec, index=0))
    weighed = m.get_weighed_hosts(passed, spec)
    return len(passed), rng.choice(weighed[:subset]).obj if weighed else None


def main():
    req = json.load(sys.stdin) if not sys.stdin.isatty() else {}
    sizes = req.get("hosts", [1000, 10000])
    runs = int(req.get("runs", 5))
    seconds = float(req.get("seconds", 3))

    warnings.filterwarnings("ignore")
    logging.getLogger().addHandler(logging.NullHandler())
    logging.getLogger().setLevel(logging.INFO)  # Nova's default log level
    CONF = setup()
    from nova import servicegroup

    m = host_manager()
    spec = request_spec()
    subset = CONF.filter_scheduler.host_subset_size
    rng = random.Random(1)
    out = {"filters": [f.__class__.__name__ for f in m.enabled_filters],
           "weighers": [w.__class__.__name__ for w in m.weighers], "results": {}}
    with mock.patch.object(servicegroup.API, "service_is_up", autospec=True,
                           side_effect=lambda self, svc: svc["up"]), \
            mock.patch.object(servicegroup.API, "__init__", return_value=None):
        for n in sizes:
            hosts = synth_hosts(n)
            decide(m, hosts, spec, subset, rng)  # warm-up
            times, passed = [], 0
            start = time.perf_counter()
            while len(times) < runs or time.perf_counter() - start < seconds:
                t = time.perf_counter()
                passed, chosen = decide(m, hosts, spec, subset, rng)
                times.append((time.perf_counter() - t) * 1000)
                if chosen is None:
                    raise SystemExit("nova: no host passed the filters at %d hosts" % n)
            times.sort()
            out["results"][str(n)] = {"median_ms": statistics.median(times), "min_ms": times[0],
                                      "p99_ms": times[min(len(times) - 1, len(times) * 99 // 100)],
                                      "runs": len(times), "passed": passed}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
