"""Run Nova's own scheduler filters and weighers on gostack's test cases.

TestNovaDifferential (differential_test.go) writes scenarios on stdin:
a list of {"config", "hosts", "requests"} with gostack's Host and Request
JSON. For each request this prints what Nova decides:

  resources, required, forbidden  Nova's ResourceRequest.from_request_spec
  placement   hosts that pass a model of GET /allocation_candidates
              (capacity, traits) and Nova's AvailabilityZoneFilter
  filters     per filter class, run alone on every host: the hosts that
              pass, and those where Nova raised
  passed      hosts that pass placement and every pipeline filter
  ranked      [host, weight] from Nova's weigh handler, best first
  chosen      for multi-create: the host of each instance, as Nova's
              _schedule loop picks them (host_subset_size 1)

Placement itself is not part of python3-nova: its capacity rule is
modelled here (int((total - reserved) * ratio), min_unit, max_unit,
step_size). Nova 26 has no NumInstancesWeigher or HypervisorVersionWeigher
(added in 2024.1); they are defined below as upstream defines them.
"""

import json
import logging
import sys
import types
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

import nova.conf  # noqa: E402
from nova import objects  # noqa: E402

objects.register_all()

from nova.scheduler import filters as sfilters  # noqa: E402
from nova.scheduler import manager  # noqa: E402
from nova.scheduler import utils as sutils  # noqa: E402
from nova.scheduler import weights as sweights  # noqa: E402
from nova.scheduler.filters import affinity_filter  # noqa: E402
from nova.scheduler.filters import aggregate_instance_extra_specs  # noqa: E402
from nova.scheduler.filters import aggregate_multitenancy_isolation  # noqa: E402
from nova.scheduler.filters import all_hosts_filter  # noqa: E402
from nova.scheduler.filters import availability_zone_filter  # noqa: E402
from nova.scheduler.filters import compute_capabilities_filter  # noqa: E402
from nova.scheduler.filters import compute_filter  # noqa: E402
from nova.scheduler.filters import image_props_filter  # noqa: E402
from nova.scheduler.filters import io_ops_filter  # noqa: E402
from nova.scheduler.filters import isolated_hosts_filter  # noqa: E402
from nova.scheduler.filters import json_filter  # noqa: E402
from nova.scheduler.filters import num_instances_filter  # noqa: E402
from nova.scheduler.filters import type_filter  # noqa: E402
from nova.scheduler.weights import affinity  # noqa: E402
from nova.scheduler.weights import compute  # noqa: E402
from nova.scheduler.weights import cpu  # noqa: E402
from nova.scheduler.weights import disk  # noqa: E402
from nova.scheduler.weights import io_ops  # noqa: E402
from nova.scheduler.weights import ram  # noqa: E402
from nova.tests.unit.scheduler import fakes  # noqa: E402

CONF = nova.conf.CONF
EXTRA = {}  # options Nova 26 does not have


class NumInstancesWeigher(sweights.BaseHostWeigher):
    """nova/scheduler/weights/num_instances.py (2024.1)."""

    def weight_multiplier(self, host_state):
        return sutils.get_weight_multiplier(
            host_state, 'num_instances_weight_multiplier',
            EXTRA['num_instances_weight_multiplier'])

    def _weigh_object(self, host_state, weight_properties):
        return host_state.num_instances


class HypervisorVersionWeigher(sweights.BaseHostWeigher):
    """nova/scheduler/weights/hypervisor_version.py (2024.1)."""

    def weight_multiplier(self, host_state):
        return sutils.get_weight_multiplier(
            host_state, 'hypervisor_version_weight_multiplier',
            EXTRA['hypervisor_version_weight_multiplier'])

    def _weigh_object(self, host_state, weight_properties):
        return host_state.hypervisor_version or 0


FILTERS = {
    'ComputeFilter': compute_filter.ComputeFilter,
    'ComputeCapabilitiesFilter':
        compute_capabilities_filter.ComputeCapabilitiesFilter,
    'ImagePropertiesFilter': image_props_filter.ImagePropertiesFilter,
    'ServerGroupAntiAffinityFilter':
        affinity_filter.ServerGroupAntiAffinityFilter,
    'ServerGroupAffinityFilter': affinity_filter.ServerGroupAffinityFilter,
    'SameHostFilter': affinity_filter.SameHostFilter,
    'DifferentHostFilter': affinity_filter.DifferentHostFilter,
    'AggregateInstanceExtraSpecsFilter':
        aggregate_instance_extra_specs.AggregateInstanceExtraSpecsFilter,
    'AggregateMultiTenancyIsolation':
        aggregate_multitenancy_isolation.AggregateMultiTenancyIsolation,
    'AggregateTypeAffinityFilter': type_filter.AggregateTypeAffinityFilter,
    'IsolatedHostsFilter': isolated_hosts_filter.IsolatedHostsFilter,
    'IoOpsFilter': io_ops_filter.IoOpsFilter,
    'AggregateIoOpsFilter': io_ops_filter.AggregateIoOpsFilter,
    'NumInstancesFilter': num_instances_filter.NumInstancesFilter,
    'AggregateNumInstancesFilter':
        num_instances_filter.AggregateNumInstancesFilter,
    'JsonFilter': json_filter.JsonFilter,
    'AllHostsFilter': all_hosts_filter.AllHostsFilter,
}

WEIGHERS = {
    'RAMWeigher': ram.RAMWeigher,
    'CPUWeigher': cpu.CPUWeigher,
    'DiskWeigher': disk.DiskWeigher,
    'IoOpsWeigher': io_ops.IoOpsWeigher,
    'NumInstancesWeigher': NumInstancesWeigher,
    'HypervisorVersionWeigher': HypervisorVersionWeigher,
    'BuildFailureWeigher': compute.BuildFailureWeigher,
    'ServerGroupSoftAffinityWeigher':
        affinity.ServerGroupSoftAffinityWeigher,
    'ServerGroupSoftAntiAffinityWeigher':
        affinity.ServerGroupSoftAntiAffinityWeigher,
}

SCHEDULER_OPTS = [
    'host_subset_size', 'max_io_ops_per_host', 'max_instances_per_host',
    'isolated_hosts', 'isolated_images',
    'restrict_isolated_hosts_to_isolated_images',
    'ram_weight_multiplier', 'cpu_weight_multiplier',
    'disk_weight_multiplier', 'io_ops_weight_multiplier',
    'build_failure_weight_multiplier', 'soft_affinity_weight_multiplier',
    'soft_anti_affinity_weight_multiplier',
]


def configure(cfg):
    for name in SCHEDULER_OPTS:
        value = cfg[name]
        if value is None:
            value = []  # Go writes an empty list as null
        CONF.set_override(name, value, group='filter_scheduler')
    CONF.set_override(
        'image_properties_default_architecture',
        cfg['image_properties_default_architecture'] or None,
        group='filter_scheduler')
    CONF.set_override('default_availability_zone',
                      cfg['default_availability_zone'])
    for name in ('num_instances_weight_multiplier',
                 'hypervisor_version_weight_multiplier'):
        EXTRA[name] = cfg[name]


def host_state(h):
    """A HostState with the figures gostack's Host carries."""
    attrs = {name: h.get(name, 0) for name in (
        'total_usable_ram_mb', 'free_ram_mb', 'total_usable_disk_gb',
        'free_disk_mb', 'disk_mb_used', 'vcpus_total', 'vcpus_used',
        'cpu_allocation_ratio', 'ram_allocation_ratio',
        'disk_allocation_ratio', 'num_instances', 'num_io_ops',
        'failed_builds', 'hypervisor_version')}
    for name in ('cpu_allocation_ratio', 'ram_allocation_ratio',
                 'disk_allocation_ratio'):
        attrs[name] = float(attrs[name])  # JSON writes 4.0 as 4
    attrs.update({
        'uuid': h['uuid'],
        'hypervisor_hostname': h['nodename'],
        'hypervisor_type': h.get('hypervisor_type') or None,
        'cpu_info': h.get('cpu_info') or None,
        'supported_instances': [list(s) for s in
                                h.get('supported_instances') or []],
        'stats': dict(h.get('stats') or {}),
        'service': {'disabled': h.get('disabled', False),
                    'disabled_reason': h.get('disabled_reason'),
                    'up': h.get('up', False)},
        'aggregates': [types.SimpleNamespace(uuid=a['uuid'],
                                             metadata=a['metadata'])
                       for a in h.get('aggregates') or []],
        'instances': {u: objects.Instance(uuid=u)
                      for u in h.get('instances') or []},
    })
    hs = fakes.FakeHostState(h['host'], h['nodename'], attrs)
    hs.resources = {k: dict(v) for k, v in h['resources'].items()}
    hs.traits = set(h.get('traits') or [])
    return hs


def request_spec(r):
    f = r['flavor']
    flavor = objects.Flavor(
        name=f['name'], vcpus=f['vcpus'], memory_mb=f['memory_mb'],
        root_gb=f['root_gb'], ephemeral_gb=f.get('ephemeral_gb', 0),
        swap=f.get('swap', 0), extra_specs=f.get('extra_specs') or {})
    image = r.get('image') or {}
    meta = {'properties': image.get('properties') or {}}
    if image.get('id'):
        meta['id'] = image['id']
    group = None
    if r.get('group'):
        g = r['group']
        rules = {}
        if g.get('max_server_per_host'):
            rules['max_server_per_host'] = g['max_server_per_host']
        group = objects.InstanceGroup(
            uuid=g['uuid'], policy=g['policy'], policies=[g['policy']],
            members=list(g.get('members') or []),
            hosts=list(g.get('hosts') or []), rules=rules)
    uuids = r.get('instance_uuids') or [None]
    return objects.RequestSpec(
        flavor=flavor, image=objects.ImageMeta.from_dict(meta),
        instance_group=group,
        scheduler_hints=dict(r.get('scheduler_hints') or {}),
        project_id=r.get('project_id'),
        availability_zone=r.get('availability_zone') or None,
        instance_uuid=uuids[0], num_instances=len(uuids),
        is_bfv=r.get('is_bfv', False), ignore_hosts=None, force_hosts=None,
        force_nodes=None, requested_destination=None, numa_topology=None,
        pci_requests=objects.InstancePCIRequests(requests=[]))


def demand(spec):
    rr = sutils.ResourceRequest.from_request_spec(spec)
    forbidden = set()
    for g in rr._rg_by_id.values():
        forbidden |= set(g.forbidden_traits)
    return rr.merged_resources(), set(rr.all_required_traits), forbidden


def fits(hs, resources, used):
    for rc, amount in resources.items():
        inv = hs.resources.get(rc)
        if inv is None:
            return False
        capacity = int((inv['total'] - inv['reserved']) *
                       inv['allocation_ratio'])
        if not (inv['min_unit'] <= amount <= inv['max_unit'] and
                amount % inv['step_size'] == 0 and
                used.get((hs.host, rc), inv['used']) + amount <= capacity):
            return False
    return True


def placement(hosts, spec, resources, required, forbidden):
    az = availability_zone_filter.AvailabilityZoneFilter()
    return [h for h in hosts
            if fits(h, resources, {}) and required <= h.traits and
            not (forbidden & h.traits) and az._filter_one(h, spec)]


def make_filters(names):
    out = []
    for name in list(names):
        f = FILTERS[name]()
        if name == 'ComputeFilter':
            f.servicegroup_api.service_is_up = lambda s: s['up']
        out.append(f)
    return out


def each_filter(hosts, spec):
    out = {}
    for name, f in zip(FILTERS, make_filters(FILTERS)):
        passed, raised, why = [], [], ''
        for h in hosts:
            try:
                if f._filter_one(h, spec):
                    passed.append(h.host)
            except Exception as e:
                raised.append(h.host)
                why = why or '%s: %s' % (type(e).__name__, e)
        out[name] = {'pass': passed, 'raised': raised, 'why': why}
    return out


def rank(hosts, spec, filters, weighers, index):
    handler = sfilters.HostFilterHandler()
    passed = handler.get_filtered_objects(filters, hosts, spec, index) or []
    weighed = sweights.HostWeightHandler().get_weighed_objects(
        weighers, passed, spec)
    return passed, weighed


def multi_create(hosts, spec, filters, weighers, resources, uuids):
    """Nova's _schedule loop with claims against the placement model.

    Also says whether a claim had to skip a full host (Nova keeps full
    hosts in its list; gostack's capacity filter drops them).
    """
    used, chosen, skipped = {}, [], False
    for num, uuid in enumerate(uuids):
        spec.instance_uuid = uuid
        _, weighed = rank(hosts, spec, filters, weighers, num)
        hosts = [w.obj for w in weighed]
        claimed = next((h for h in hosts if fits(h, resources, used)), None)
        if claimed is None:
            break
        skipped = skipped or claimed is not hosts[0]
        for rc, amount in resources.items():
            key = (claimed.host, rc)
            used[key] = used.get(key, claimed.resources[rc]['used']) + amount
        chosen.append(claimed.host)
        manager.SchedulerManager._consume_selected_host(
            claimed, spec, instance_uuid=uuid)
    return chosen, skipped


def run(sc, item):
    req = item['request']
    spec = request_spec(req)
    try:
        resources, required, forbidden = demand(spec)
    except Exception as e:
        # Nova's API refuses such a request before it is scheduled.
        return {'invalid': '%s: %s' % (type(e).__name__, e)}
    hosts = [host_state(h) for h in sc['hosts']]
    res = {'resources': resources, 'required': sorted(required),
           'forbidden': sorted(forbidden)}
    cands = placement(hosts, spec, resources, required, forbidden)
    res['placement'] = [h.host for h in cands]
    res['filters'] = each_filter(hosts, spec)
    filters = make_filters(n for n in sc['config']['enabled_filters']
                           if n != 'PlacementFilter')
    weighers = [WEIGHERS[n]() for n in sc['config']['weight_classes']]
    try:
        passed, weighed = rank(cands, spec, filters, weighers, 0)
        res['passed'] = [h.host for h in passed]
        res['ranked'] = [[w.obj.host, w.weight] for w in weighed]
    except Exception as e:
        res['error'] = '%s: %s' % (type(e).__name__, e)
    if item.get('multi'):
        try:
            res['chosen'], res['claim_skipped'] = multi_create(
                cands, request_spec(req), filters, weighers, resources,
                req['instance_uuids'])
        except Exception as e:
            res['error'] = '%s: %s' % (type(e).__name__, e)
    return res


def main():
    out = []
    for sc in json.load(sys.stdin):
        configure(sc['config'])
        for item in sc['requests']:
            out.append(run(sc, item))
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
