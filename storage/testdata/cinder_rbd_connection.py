"""Cinder's own connection info of RBD volumes, for the cases on stdin.

Each case is {"pool", "volume_id", "mon_dump", "cluster", "user",
"secret_uuid", "attached_mode", "cacheable", "discard", "size", "qos"}:
the backend's rbd_pool, the volume, the text "ceph mon dump
--format=json" prints, rbd_cluster_name, rbd_user (null for none),
rbd_secret_uuid, then as cinder_connection.py. For each it prints what
Cinder's RBD driver (RBDDriver.initialize_connection, its monitors read
by its own _get_mon_addrs), then its volume manager
(_parse_connection_options), answer: {"info": ...}, or {"error":
"<exception class>"}.
"""
import copy
import json
import logging
import sys
import types

logging.disable(logging.CRITICAL)

from cinder import objects  # noqa: E402

objects.register_all()

from cinder.volume import manager  # noqa: E402
from cinder.volume.drivers import rbd  # noqa: E402


def main():
    out = []
    for case in json.load(sys.stdin):
        qos = case['qos']
        manager.volume_types.get_volume_type_qos_specs = lambda t: {'qos_specs': copy.deepcopy(qos)}
        spec = '<is> True' if case['cacheable'] else None
        manager.volume_types.get_volume_type_extra_specs = lambda t, key=None: spec
        discard = case['discard']
        fake = types.SimpleNamespace(driver=types.SimpleNamespace(
            configuration=types.SimpleNamespace(safe_get=lambda k: discard)))
        admin = {'attached_mode': case['attached_mode']} if case['attached_mode'] else {}
        drv = types.SimpleNamespace(
            configuration=types.SimpleNamespace(rbd_pool=case['pool']),
            keyring_data=None,
            _ceph_args=lambda: [],
            _execute=lambda *a: (case['mon_dump'], ''),
            _get_config_tuple=lambda remote=None: (case['cluster'], '/etc/ceph/ceph.conf', case['user'],
                                                   case['secret_uuid']))
        drv._get_mon_addrs = lambda: rbd.RBDDriver._get_mon_addrs(drv)
        vol = types.SimpleNamespace(id=case['volume_id'], name='volume-' + case['volume_id'])
        try:
            info = rbd.RBDDriver.initialize_connection(drv, vol, {'initiator': 'i'})
            v = types.SimpleNamespace(volume_type_id='t', size=case['size'], admin_metadata=admin, encryption_key_id=None)
            info = manager.VolumeManager._parse_connection_options(fake, None, v, info)
            out.append({'info': info})
        except Exception as e:  # noqa: B902
            out.append({'error': type(e).__name__})
    print(json.dumps(out))


main()
