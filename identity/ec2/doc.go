// Package ec2 checks EC2 request signatures as Keystone's /v3/ec2tokens
// does: keystoneclient's Ec2Signer (keystoneclient/contrib/ec2/utils.py)
// for AWS signature versions 2 and 4, and Keystone's retry without the
// port of the host (keystone/api/ec2tokens.py _check_signature).
//
// A Request is the "credentials" object an EC2 API sends Keystone (the
// access key, the signature, the verb, host, path, query parameters,
// headers and body hash of the request it received). Verify recomputes
// the signature with the credential's secret and compares in constant
// time. The signer is tested against Ec2Signer itself over generated
// requests.
//
// What it does not do: signature versions 0 and 1, which Ec2Signer still
// computes (version 1 concatenates names and values without separators,
// so two requests can share a signature); they are refused. Values the
// signer would turn into text with Python's str() are taken when they
// are strings, integers, booleans, null and floats, and refused when
// they are lists or objects; header names must be ASCII, and the verb
// too (Python's and Go's case mappings differ outside it). The port-less
// retry is made for hosts of printable ASCII without brackets only.
package ec2
