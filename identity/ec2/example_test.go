package ec2_test

import (
	"fmt"

	"github.com/gostack/gostack/identity/ec2"
)

// Check the signature an EC2 API forwards to Keystone's /v3/ec2tokens.
func Example() {
	req, err := ec2.Parse([]byte(`{"access": "AKIA", "host": "ec2.example.com:8773", "verb": "GET", "path": "/",
		"params": {"Action": "DescribeInstances", "SignatureVersion": "2"}}`))
	if err != nil {
		panic(err)
	}
	req.Signature, _ = ec2.Sign("s3cret", req) // what the client computed
	fmt.Println(ec2.Verify("s3cret", req))
	fmt.Println(ec2.Verify("guess", req))
	// Output:
	// <nil>
	// ec2: invalid signature
}
