package broker

import (
	"fmt"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testcert"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

// A pull parked by a TLS client (tls enforcing) is answered over TLS when a message
// arrives: the answer written by the releasing goroutine (server.Conn.ReplyNow) goes
// through the TLS front like any other and the consumer reads the message, in order,
// with its offsets.
func TestLongPollAnswerOverTLS(t *testing.T) {
	certs := testcert.Write(t)
	h := newHarness(t, func(bo *Options, _ *store.Options) { bo.TLS = certs.Options(tlsconf.Enforcing, tlsconf.ClientAuthNone) })
	h.cl.Close()
	h.cl = transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second, TLS: certs.Client(t, false)})
	h.createTopic("LPTLS", 1, 6)
	for i := range 5 {
		ch, _ := h.asyncPull(h.cl, suspendReq("cg", "LPTLS", 0, int64(i), 15000))
		h.waitParked(1)
		body := fmt.Sprintf("tls-%02d", i)
		h.send("LPTLS", 0, body, nil)
		wantOneFound(t, "pull for "+body, waitAnswer(t, ch, body), body, 0, int64(i))
	}
}
