package registrar

import (
	"testing"

	"github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/body"
)

// With credentials, REGISTER_BROKER carries the access key and a signature over its
// header and body that the broker-side check accepts; without, neither.
func TestRegisterRequestIsSigned(t *testing.T) {
	opts := Options{BrokerName: "broker-a", ClusterName: "DefaultCluster", Addr: func() string { return "10.0.0.1:10911" },
		HAServerAddr: func() string { return "10.0.0.1:10912" }, Topics: func() *body.TopicConfigSerializeWrapper {
			return &body.TopicConfigSerializeWrapper{}
		}}
	plain := New(opts).registerRequest(opts.Topics())
	if _, ok := plain.ExtFields[acl.Signature]; ok {
		t.Fatalf("unsigned registration carries a signature: %v", plain.ExtFields)
	}
	opts.Credentials = acl.Credentials{AccessKey: "rocketadmin", SecretKey: "adminsecret"}
	req := New(opts).registerRequest(opts.Topics())
	sig := req.ExtFields[acl.Signature]
	if req.ExtFields[acl.AccessKey] != "rocketadmin" || sig == "" {
		t.Fatalf("signed registration ext %v", req.ExtFields)
	}
	if !acl.Verify(req.ExtFields, req.Body, "adminsecret", sig) || acl.Verify(req.ExtFields, req.Body, "othersecret", sig) {
		t.Fatal("the signature does not verify with the account's secret alone")
	}
}
