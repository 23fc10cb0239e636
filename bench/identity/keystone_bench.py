"""Time Keystone's own TokenFormatter on a key repository, for bench/identity.

Reads {"repo": DIR, "token": T, "seconds": S, "payload": {...}} on stdin and
prints JSON ops/s for issue and validate, as shipped (Keystone re-reads the
key repository on every call) and with the keys cached (MultiFernet built
once), so the ratio is not only disk reads.
"""
import json
import sys
import time

import keystone.conf
from cryptography import fernet
from keystone.common import fernet_utils
from keystone.token import token_formatters as tf

CONF = keystone.conf.CONF


def rate(fn, seconds):
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            fn()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


class CachedFormatter(tf.TokenFormatter):
    def __init__(self, keys):
        self._crypto = fernet.MultiFernet([fernet.Fernet(k) for k in keys])

    @property
    def crypto(self):
        return self._crypto


def main():
    req = json.load(sys.stdin)
    keystone.conf.configure(CONF)
    CONF([], project="keystone", default_config_files=[])
    CONF.set_override("key_repository", req["repo"], group="fernet_tokens")
    p, secs, tok = req["payload"], req["seconds"], req["token"]
    keys = fernet_utils.FernetUtils(req["repo"], 3, "fernet_tokens").load_keys()
    out = {}
    for name, fmt in (("shipped", tf.TokenFormatter()), ("cached_keys", CachedFormatter(keys))):
        def issue():
            fmt.create_token(p["user_id"], p["expires_at"], p["audit_ids"],
                             tf.ProjectScopedPayload, methods=p["methods"],
                             project_id=p["project_id"])
        out[name] = {"issue": rate(issue, secs), "validate": rate(lambda: fmt.validate_token(tok), secs)}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
