package client

import (
	"crypto/tls"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Defaults shared by every producer, consumer and admin client (docs/protocol.md §1.4 and
// Appendix A: the official client's timers and timeouts).
const (
	// DefaultInstanceName is replaced by the process id in the client id, as RocketMQ does.
	DefaultInstanceName = "DEFAULT"
	// DefaultRouteRefreshInterval is how often every cached topic route is fetched again.
	DefaultRouteRefreshInterval = 30 * time.Second
	// DefaultHeartbeatInterval is how often the client sends HEART_BEAT to its brokers.
	DefaultHeartbeatInterval = 30 * time.Second
	// DefaultCallTimeout bounds one request whose context carries no deadline.
	DefaultCallTimeout = 3 * time.Second
	// DefaultRouteTimeout bounds one GET_ROUTEINFO_BY_TOPIC whose context has no deadline.
	DefaultRouteTimeout = 6 * time.Second
)

// clientOptions are the settings of the shared client instance: where the NameServers
// are, who this client is, and its timers. Producers, consumers and admin clients embed
// them; the instance is shared by all users whose identity and NameServers match.
type clientOptions struct {
	nameServers  []string
	namespace    string
	instanceName string
	unitName     string
	clientIP     string
	logger       zerolog.Logger
	credentials  Credentials
	tls          *tls.Config // nil: plain TCP
	now          func() time.Time
	serialize    byte // header serialization of requests (codec.Serialize*)

	routeRefresh time.Duration
	heartbeat    time.Duration
	callTimeout  time.Duration
	routeTimeout time.Duration
}

// defaultClientOptions returns the options before any Option is applied.
func defaultClientOptions() clientOptions {
	return clientOptions{
		instanceName: DefaultInstanceName,
		logger:       zerolog.Nop(),
		serialize:    codec.SerializeRocketMQ,
		now:          time.Now,
		routeRefresh: DefaultRouteRefreshInterval,
		heartbeat:    DefaultHeartbeatInterval,
		callTimeout:  DefaultCallTimeout,
		routeTimeout: DefaultRouteTimeout,
	}
}

// Option is a setting every kind of client accepts (producer, consumers, admin): the
// NameServers, the namespace, the instance name, the logger. Each client kind also has
// options of its own.
type Option func(*clientOptions)

// Credentials are an ACL access key pair. When set, every request is signed the way
// RocketMQ's AclClientRPCHook signs it: extFields AccessKey, optional SecurityToken, and
// Signature = base64(HMAC-SHA1(secret, values of all extFields sorted by key ++ body)).
type Credentials struct {
	AccessKey     string
	SecretKey     string
	SecurityToken string
}

// WithNameServer sets the NameServer addresses ("ip:port"). Each address may itself be
// a ";"-separated list, as RocketMQ's namesrvAddr setting is. When one NameServer fails,
// the next is tried.
func WithNameServer(addrs ...string) Option {
	return func(o *clientOptions) {
		o.nameServers = o.nameServers[:0:0]
		for _, a := range addrs {
			for _, s := range strings.Split(a, ";") {
				if s = strings.TrimSpace(s); s != "" {
					o.nameServers = append(o.nameServers, s)
				}
			}
		}
	}
}

// WithNamespace puts every topic and group of the client in namespace ns: "T" is sent as
// "ns%T", "%RETRY%G" as "%RETRY%ns%G", as RocketMQ's NamespaceUtil does. Results (send
// results, consumed messages, admin listings) show the names without the namespace.
func WithNamespace(ns string) Option {
	return func(o *clientOptions) { o.namespace = ns }
}

// WithInstanceName sets the instance name part of the client id. The default, "DEFAULT",
// is replaced by the process id, so one process has one client id ("ip@pid"). Two
// consumers of the same group in one process need different instance names.
func WithInstanceName(name string) Option {
	return func(o *clientOptions) {
		if name == "" {
			name = DefaultInstanceName
		}
		o.instanceName = name
	}
}

// WithUnitName appends "@unit" to the client id.
func WithUnitName(unit string) Option {
	return func(o *clientOptions) { o.unitName = unit }
}

// WithClientIP sets the IP of the client id; by default the first non-loopback IPv4
// address of the host (127.0.0.1 if there is none).
func WithClientIP(ip string) Option {
	return func(o *clientOptions) { o.clientIP = ip }
}

// WithLogger sets the logger; the default discards everything.
func WithLogger(l zerolog.Logger) Option {
	return func(o *clientOptions) { o.logger = l }
}

// WithCredentials signs every request with an ACL access key (see Credentials).
func WithCredentials(c Credentials) Option {
	return func(o *clientOptions) { o.credentials = c }
}

// WithTLS makes every connection to NameServers and brokers a TLS connection, for
// servers whose tls.mode is permissive or enforcing (docs/tls.md). Build cfg with
// tlsconf.ClientFiles (trust roots, client certificate, server name) or by hand; the
// server name defaults to the dialled host, and the certificate is verified unless cfg
// sets InsecureSkipVerify. A nil cfg means plain TCP. Clients that differ only in TLS do
// not share an instance.
func WithTLS(cfg *tls.Config) Option {
	return func(o *clientOptions) { o.tls = cfg }
}

// WithCallTimeout bounds each request whose context carries no deadline (3 s default).
func WithCallTimeout(d time.Duration) Option {
	return func(o *clientOptions) {
		if d > 0 {
			o.callTimeout = d
		}
	}
}

// WithRouteRefreshInterval sets how often cached routes are fetched again (30 s default).
func WithRouteRefreshInterval(d time.Duration) Option {
	return func(o *clientOptions) {
		if d > 0 {
			o.routeRefresh = d
		}
	}
}

// WithHeartbeatInterval sets how often HEART_BEAT goes to the brokers (30 s default).
func WithHeartbeatInterval(d time.Duration) Option {
	return func(o *clientOptions) {
		if d > 0 {
			o.heartbeat = d
		}
	}
}

// WithJSONHeaders makes the client send request headers as JSON, as the official Go
// client does, instead of the ROCKETMQ binary form. Every RocketMQ 4.x server reads
// both and answers in the request's form; the binary form is cheaper to encode and
// decode on both sides, so it is the default.
func WithJSONHeaders() Option {
	return func(o *clientOptions) { o.serialize = codec.SerializeJSON }
}

// withClock replaces the clock (tests).
func withClock(now func() time.Time) Option {
	return func(o *clientOptions) { o.now = now }
}

// applyProducer lets a shared Option configure a producer.
func (f Option) applyProducer(o *producerOptions) { f(&o.client) }

// applyAdmin lets a shared Option configure an admin client.
func (f Option) applyAdmin(o *adminOptions) { f(&o.client) }

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
