import json, sys, os
from oslo_config import cfg
cfg.CONF([], project='glance')
from glance.api.v2 import schemas
c = schemas.Controller()
out = sys.argv[1]
for n in ['namespace','namespaces','object','objects','property','properties','tag','tags','resource_type','resource_types']:
    fn = getattr(c, 'metadef_' + n)
    with open(os.path.join(out, n + '.json'), 'w') as f:
        json.dump(fn(None), f, indent=2, sort_keys=True)
        f.write('\n')
