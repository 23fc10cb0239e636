"""Sign EC2 requests with keystoneclient's Ec2Signer and trade them for
tokens at /v3/ec2tokens, as an EC2 API (ec2-api, swift3) does.

Environment: OS_AUTH_URL, OS_PASSWORD (the admin's, who calls ec2tokens
as the service would), ACCESS and SECRET (an ec2 credential's).
Prints one JSON object: for signature versions 2 and 4 and a wrong
secret, the status and the token's user, project and methods.
Run with Debian's /usr/bin/python3 (python3-keystoneclient).
"""
import datetime
import hashlib
import json
import os

from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.contrib.ec2 import utils as ec2_utils

auth = v3.Password(auth_url=os.environ["OS_AUTH_URL"], username="admin",
                   password=os.environ["OS_PASSWORD"], project_name="admin",
                   user_domain_name="Default", project_domain_name="Default")
sess = session.Session(auth=auth)
access, secret = os.environ["ACCESS"], os.environ["SECRET"]
now = datetime.datetime.utcnow()


def v2(secret):
    creds = {"access": access, "host": "ec2.example.com:8773", "verb": "GET",
             "path": "/services/Cloud/",
             "params": {"Action": "DescribeInstances", "SignatureVersion": "2",
                        "SignatureMethod": "HmacSHA256", "AWSAccessKeyId": access,
                        "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "Version": "2013-10-15"}}
    creds["signature"] = ec2_utils.Ec2Signer(secret).generate(creds)
    return creds


def v4(secret):
    date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = "%s/RegionOne/ec2/aws4_request" % date[:8]
    headers = {"Host": "ec2.example.com:8773", "X-Amz-Date": date,
               "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, "
                                "SignedHeaders=host;x-amz-date, Signature=x"
                                % (access, scope)}
    creds = {"access": access, "host": "ec2.example.com:8773", "verb": "GET",
             "path": "/", "headers": headers,
             "params": {"Action": "DescribeRegions", "Version": "2013-10-15"},
             "body_hash": hashlib.sha256(b"").hexdigest()}
    creds["signature"] = ec2_utils.Ec2Signer(secret).generate(creds)
    return creds


out = {}
for name, creds in (("v2", v2(secret)), ("v4", v4(secret)), ("wrong", v2("guess"))):
    resp = sess.post(os.environ["OS_AUTH_URL"] + "/ec2tokens",
                     json={"credentials": creds}, raise_exc=False)
    res = {"status": resp.status_code}
    if resp.status_code == 200:
        tok = resp.json()["token"]
        res.update(user=tok["user"]["name"], project=tok["project"]["name"],
                   methods=tok["methods"],
                   subject=bool(resp.headers.get("X-Subject-Token")))
    out[name] = res
print(json.dumps(out, sort_keys=True))
