package metrics

import (
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
)

func TestRPCCodeNames(t *testing.T) {
	for c, want := range map[int32]string{
		code.SendMessageV2: "send_message_v2", code.PullMessage: "pull_message",
		code.ListPendingTransactions: "list_pending_transactions", 99999: "99999",
	} {
		if got := RequestCodeName(c); got != want {
			t.Errorf("RequestCodeName(%d) = %q, want %q", c, got, want)
		}
	}
	for c, want := range map[int32]string{
		code.Success: "success", code.PullNotFound: "pull_not_found", code.FlowControl: "flow_control",
		100: "other", -1: "other", 70000: "other",
	} {
		if got := ResponseCodeName(c); got != want {
			t.Errorf("ResponseCodeName(%d) = %q, want %q", c, got, want)
		}
	}
}

// BenchmarkRPCObserve is the dispatch hook's cost once its series exists; it must not
// allocate.
func BenchmarkRPCObserve(b *testing.B) {
	m := New(Node{Cluster: "c", BrokerName: "b"}, 1000, nil)
	rt := m.RPCRoute(code.SendMessageV2)
	start := Mono()
	rt.Observe(start, code.Success, false, ResultSuccess)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		rt.Observe(start, code.Success, false, ResultSuccess)
	}
}
