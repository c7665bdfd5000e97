package client

import "testing"

func TestNamespaceWrap(t *testing.T) {
	cases := []struct{ ns, name, wrapped string }{
		{"", "T", "T"},
		{"ns", "", ""},
		{"ns", "T", "ns%T"},
		{"ns", "ns%T", "ns%T"},
		{"ns", "%RETRY%G", "%RETRY%ns%G"},
		{"ns", "%DLQ%G", "%DLQ%ns%G"},
		{"ns", "%RETRY%ns%G", "%RETRY%ns%G"},
		{"ns", "TBW102", "TBW102"},
		{"ns", "SCHEDULE_TOPIC_XXXX", "SCHEDULE_TOPIC_XXXX"},
		{"ns", "rmq_sys_wheel_timer", "rmq_sys_wheel_timer"},
		{"ns", "DEFAULT_PRODUCER", "DEFAULT_PRODUCER"},
		{"ns", "CID_RMQ_SYS_X", "CID_RMQ_SYS_X"},
	}
	for _, c := range cases {
		if got := WrapNamespace(c.ns, c.name); got != c.wrapped {
			t.Errorf("WrapNamespace(%q, %q): got %q, want %q", c.ns, c.name, got, c.wrapped)
		}
		if got := UnwrapNamespace(c.ns, c.wrapped); c.name != "ns%T" && c.name != "%RETRY%ns%G" && got != c.name {
			t.Errorf("UnwrapNamespace(%q, %q): got %q, want %q", c.ns, c.wrapped, got, c.name)
		}
	}
	if got := UnwrapNamespace("ns", "other%T"); got != "other%T" {
		t.Errorf("foreign namespace: got %q", got)
	}
	if RetryTopic("G") != "%RETRY%G" || DLQTopic("G") != "%DLQ%G" {
		t.Error("retry/DLQ names")
	}
}
