package broker

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// BenchmarkSendHandlerACL measures the send handler (store append discarded) behind the
// route wrapper with aclEnable off and on; -count interleaves the two.
func BenchmarkSendHandlerACL(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "acl=off"
		if on {
			name = "acl=on"
		}
		b.Run(name, func(b *testing.B) {
			file := filepath.Join(b.TempDir(), "plain_acl.yml")
			rules := "accounts:\n  - {accessKey: bench-key, secretKey: bench-secret, topicPerms: [Bench=PUB], defaultGroupPerm: SUB}\n"
			if err := os.WriteFile(file, []byte(rules), 0o644); err != nil {
				b.Fatal(err)
			}
			br := openInProcess(b, func(o *Options, _ *store.Options) { o.AclEnable, o.AclFile = on, file })
			createTopicDirect(b, br, "Bench", 4)
			br.putDst = &discard{}
			body := make([]byte, 1024)
			req := sendCommand("Bench", 1, body)
			req.ExtFields[acl.AccessKey] = "bench-key"
			req.ExtFields[acl.Signature] = acl.Sign(req.ExtFields, body, "bench-secret")
			h := br.guarded(br.handleSend)
			conn := &server.Conn{}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if resp := h(conn, req); resp == nil || resp.Code != code.Success {
					b.Fatalf("send: %+v", resp)
				}
			}
		})
	}
}
