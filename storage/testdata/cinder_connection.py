"""Cinder's own connection info of iSCSI volumes, for the cases on stdin.

Each case is {"location", "auth", "volume_id", "multipath",
"attached_mode", "cacheable", "discard", "size", "qos"}: a volume's
provider_location and provider_auth, the connector's multipath, the
volume's attached_mode admin metadata ("" for none), its type's cacheable
extra spec, the backend's report_discard_supported, the volume's size
and its type's QoS specs (null, or {"consumer", "specs"}). For each it prints what Cinder's LVM
driver with its tgt target (TgtAdm.initialize_connection), then its
volume manager (_parse_connection_options), answer: {"info": ...}, or
{"error": "<exception class>"} when the driver raises.
"""
import copy
import json
import sys
import types
import logging

logging.disable(logging.CRITICAL)

from cinder import objects  # noqa: E402

objects.register_all()

from cinder.volume import configuration as conf  # noqa: E402
from cinder.volume import manager  # noqa: E402
from cinder.volume.targets import tgt  # noqa: E402


def main():
    target = tgt.TgtAdm(root_helper='sudo', configuration=conf.Configuration(None))
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
        vol = {'provider_location': case['location'], 'provider_auth': case['auth'] or None,
               'id': case['volume_id'], 'name': 'volume-' + case['volume_id'], 'host': 'h@b#p',
               'provider_geometry': None, 'encryption_key_id': None}
        try:
            info = target.initialize_connection(vol, {'initiator': 'i', 'multipath': case['multipath']})
            v = types.SimpleNamespace(volume_type_id='t', size=case['size'], admin_metadata=admin, encryption_key_id=None)
            info = manager.VolumeManager._parse_connection_options(fake, None, v, info)
            out.append({'info': info})
        except Exception as e:  # noqa: B902
            out.append({'error': type(e).__name__})
    print(json.dumps(out))


main()
