package client

import "strings"

// Prefixes of the per-group topics (MixAll.java).
const (
	// RetryTopicPrefix starts the retry topic of a consumer group: "%RETRY%group".
	RetryTopicPrefix = "%RETRY%"
	// DLQTopicPrefix starts the dead-letter topic of a consumer group: "%DLQ%group".
	DLQTopicPrefix = "%DLQ%"
	// DefaultTopic is the template the broker creates unknown topics from (TBW102).
	DefaultTopic = "TBW102"
)

// namespaceSeparator joins a namespace and a resource name ("ns%topic").
const namespaceSeparator = "%"

// systemTopics are never put in a namespace (TopicValidator.java, 4.9.7).
var systemTopics = map[string]bool{
	DefaultTopic:                  true,
	"SCHEDULE_TOPIC_XXXX":         true,
	"BenchmarkTest":               true,
	"RMQ_SYS_TRANS_HALF_TOPIC":    true,
	"RMQ_SYS_TRACE_TOPIC":         true,
	"RMQ_SYS_TRANS_OP_HALF_TOPIC": true,
	"TRANS_CHECK_MAX_TIME_TOPIC":  true,
	"SELF_TEST_TOPIC":             true,
	"OFFSET_MOVED_EVENT":          true,
}

// systemGroups are the built-in groups, also left outside namespaces (MixAll.java).
var systemGroups = map[string]bool{
	"DEFAULT_PRODUCER":           true,
	"DEFAULT_CONSUMER":           true,
	"TOOLS_CONSUMER":             true,
	"FILTERSRV_CONSUMER":         true,
	"__MONITOR_CONSUMER":         true,
	"CLIENT_INNER_PRODUCER":      true,
	"SELF_TEST_P_GROUP":          true,
	"SELF_TEST_C_GROUP":          true,
	"CID_ONS-HTTP-PROXY":         true,
	"CID_ONSAPI_PERMISSION":      true,
	"CID_ONSAPI_OWNER":           true,
	"CID_ONSAPI_PULL":            true,
	"CID_RMQ_SYS_TRANS":          true,
	"__ONS_PRODUCER_DEFAULT__":   true,
	"RMQ_SYS_TRACE_PRODUCER":     true,
	"RMQ_SYS_TRANS_CHECK_GROUP":  true,
	"TRANS_CHECK_MAX_TIME_GROUP": true,
}

// isSystemResource reports whether name is a system topic or group, which namespaces
// leave alone (NamespaceUtil.isSystemResource).
func isSystemResource(name string) bool {
	return systemTopics[name] || systemGroups[name] ||
		strings.HasPrefix(name, "rmq_sys_") || strings.HasPrefix(name, "CID_RMQ_SYS_")
}

// splitRetryDLQ separates a %RETRY% or %DLQ% prefix from name.
func splitRetryDLQ(name string) (prefix, rest string) {
	switch {
	case strings.HasPrefix(name, RetryTopicPrefix):
		return RetryTopicPrefix, name[len(RetryTopicPrefix):]
	case strings.HasPrefix(name, DLQTopicPrefix):
		return DLQTopicPrefix, name[len(DLQTopicPrefix):]
	}
	return "", name
}

// WrapNamespace returns a topic or group name as the broker knows it inside namespace
// ns: "ns%name", keeping a %RETRY% or %DLQ% prefix in front ("%RETRY%ns%group"). System
// topics and groups, names already in ns, and an empty ns are returned unchanged
// (NamespaceUtil.wrapNamespace).
func WrapNamespace(ns, name string) string {
	if ns == "" || name == "" {
		return name
	}
	prefix, rest := splitRetryDLQ(name)
	if isSystemResource(rest) || strings.HasPrefix(rest, ns+namespaceSeparator) {
		return name
	}
	return prefix + ns + namespaceSeparator + rest
}

// UnwrapNamespace is the inverse of WrapNamespace: it strips "ns%" from name (after a
// %RETRY% or %DLQ% prefix). Names outside ns are returned unchanged
// (NamespaceUtil.withoutNamespace).
func UnwrapNamespace(ns, name string) string {
	if ns == "" || name == "" {
		return name
	}
	prefix, rest := splitRetryDLQ(name)
	if strings.HasPrefix(rest, ns+namespaceSeparator) {
		return prefix + rest[len(ns)+len(namespaceSeparator):]
	}
	return name
}

// RetryTopic returns the retry topic of a consumer group ("%RETRY%group").
func RetryTopic(group string) string { return RetryTopicPrefix + group }

// DLQTopic returns the dead-letter topic of a consumer group ("%DLQ%group").
func DLQTopic(group string) string { return DLQTopicPrefix + group }
