"""Sign requests with keystoneclient's Ec2Signer, as Keystone's ec2tokens.

stdin: a JSON list of {"secret": ..., "credentials": {...}} (the
credentials object an EC2 API sends Keystone). stdout: a JSON list with,
for each, {"sig": the signature or null when the signer raised,
"portless": the signature Keystone's retry computes with the host's name
alone (urlsplit("//" + host).hostname), or null when it raised or the
host has no ":"}. Run with Debian's /usr/bin/python3
(python3-keystoneclient).
"""
import copy
import json
import sys
import urllib.parse

from keystoneclient.contrib.ec2 import utils as ec2_utils


def sign(secret, creds):
    try:
        return ec2_utils.Ec2Signer(secret).generate(creds)
    except Exception:
        return None


out = []
for req in json.load(sys.stdin):
    creds = req["credentials"]
    res = {"sig": sign(req["secret"], copy.deepcopy(creds)), "portless": None}
    host = creds.get("host")
    if isinstance(host, str) and ":" in host:
        try:
            c = copy.deepcopy(creds)
            c["host"] = urllib.parse.urlsplit("//" + host).hostname
            res["portless"] = sign(req["secret"], c)
        except Exception:
            pass
    out.append(res)
print(json.dumps(out))
