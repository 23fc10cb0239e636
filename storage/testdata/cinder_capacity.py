"""Cinder's own capacity arithmetic over the cases on stdin (JSON).

Each case is {"pools": [pool, ...], "size": n, "thick": bool,
"multiplier": m}; a pool carries BackendState's attributes
(total_capacity_gb, free_capacity_gb: a number, "infinite", "unknown" or
null; provisioned_capacity_gb, allocated_capacity_gb,
thin_provisioning_support, max_over_subscription_ratio,
reserved_percentage). For each case it prints what Cinder's
CapacityFilter says of every pool ("pass", "fail", or "error" when it
raises), calculate_capacity_factors of every numeric pool, and the
CapacityWeigher's weight of every pool that passed, through Cinder's
weight handler with capacity_weight_multiplier set to the case's.
"""
import json
import sys
import types
import logging

logging.disable(logging.CRITICAL)

from oslo_config import cfg  # noqa: E402

from cinder import utils  # noqa: E402
from cinder.scheduler.filters import capacity_filter  # noqa: E402
from cinder.scheduler.weights import capacity  # noqa: E402
from cinder.scheduler import weights  # noqa: E402


def state(host, p):
    s = types.SimpleNamespace(backend_id=host, cluster_name=None, host=host)
    for k, v in p.items():
        setattr(s, k, v)
    return s


def main():
    cases = json.load(sys.stdin)
    out = []
    filt = capacity_filter.CapacityFilter()
    handler = weights.OrderedHostWeightHandler('cinder.scheduler.weights')
    for case in cases:
        cfg.CONF.set_override('capacity_weight_multiplier', case['multiplier'])
        vt = {'extra_specs': {'provisioning:type': 'thick'}} if case['thick'] else {'extra_specs': {}}
        props = {'size': case['size'], 'volume_type': vt,
                 'request_spec': {'volume_id': 'v'}}
        verdicts, factors, passed = [], [], []
        for i, p in enumerate(case['pools']):
            s = state('host%d' % i, p)
            try:
                ok = filt.backend_passes(s, props)
                verdicts.append('pass' if ok else 'fail')
                if ok:
                    passed.append(s)
            except Exception as e:  # noqa: BLE001
                verdicts.append('error: %s' % type(e).__name__)
            total, free = p['total_capacity_gb'], p['free_capacity_gb']
            if isinstance(total, (int, float)) and isinstance(free, (int, float)):
                f = utils.calculate_capacity_factors(
                    total, free, p['provisioned_capacity_gb'],
                    p['thin_provisioning_support'],
                    p['max_over_subscription_ratio'],
                    p['reserved_percentage'], not case['thick'])
                factors.append(f)
            else:
                factors.append(None)
        weighed = []
        if passed:
            try:
                for w in handler.get_weighed_objects(
                        [capacity.CapacityWeigher], passed, props):
                    weighed.append([w.obj.backend_id, w.weight])
            except Exception as e:  # noqa: BLE001
                weighed = 'error: %s' % type(e).__name__
        out.append({'verdicts': verdicts, 'factors': factors,
                    'weighed': weighed})
    json.dump(out, sys.stdout)


main()
