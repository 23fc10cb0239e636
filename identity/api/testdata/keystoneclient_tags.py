"""Drive project tags through python3-keystoneclient's sub-resource calls.

Environment: OS_AUTH_URL, OS_PASSWORD (the admin's), PROJECT (a project id).
Prints one JSON object with what each call returned. Run with Debian's
/usr/bin/python3 (python3-keystoneclient).
"""
import json
import os

from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

auth = v3.Password(auth_url=os.environ["OS_AUTH_URL"], username="admin",
                   password=os.environ["OS_PASSWORD"], project_name="admin",
                   user_domain_name="Default", project_domain_name="Default")
ks = client.Client(session=session.Session(auth=auth))
p = os.environ["PROJECT"]
out = {}
ks.projects.add_tag(p, "alpha")
ks.projects.add_tag(p, "with space")
out["after_add"] = ks.projects.list_tags(p)
out["check_alpha"] = ks.projects.check_tag(p, "alpha")
out["check_missing"] = ks.projects.check_tag(p, "missing")
out["update"] = ks.projects.update_tags(p, ["x", "y"])
ks.projects.delete_tag(p, "x")
out["after_delete"] = ks.projects.list_tags(p)
resp, _ = ks.delete("/projects/%s/tags" % p)  # no manager call for it
out["delete_all_status"] = resp.status_code
out["after_delete_all"] = ks.projects.list_tags(p)
print(json.dumps(out))
