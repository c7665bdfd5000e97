package namesrv

import (
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// versionWithFilterServer is MQVersion V3_0_11's ordinal: brokers from that version
// on send a RegisterBrokerBody (topics plus filter servers, optionally compressed);
// older ones sent the bare TopicConfigSerializeWrapper JSON.
const versionWithFilterServer = 37

// queryDataVersion is QUERY_DATA_VERSION (RequestCode.java): a Java broker with
// forceRegister=false asks it before each periodic registration and skips the
// registration when the answer is "unchanged", so without it such a broker would expire.
const queryDataVersion = 322

// failure answers req with SYSTEM_ERROR and a remark saying what was wrong.
func failure(req *codec.Command, format string, args ...any) *codec.Command {
	return req.NewResponse(code.SystemError, fmt.Sprintf(format, args...))
}

// handleRegisterBroker serves REGISTER_BROKER (103).
func (s *Server) handleRegisterBroker(conn *server.Conn, req *codec.Command) *codec.Command {
	var h header.RegisterBrokerRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "register broker: bad header: %v", err)
	}
	if err := checkBrokerHeader(h.BrokerName, h.BrokerAddr, h.ClusterName); err != nil {
		return failure(req, "register broker: %v", err)
	}
	if h.BodyCRC32 != 0 {
		// Java's UtilAll.crc32 clears the sign bit; a sender that sends the plain
		// CRC32 reinterpreted as int32 is accepted as well.
		sum := crc32.ChecksumIEEE(req.Body)
		if want := int32(sum & 0x7fffffff); h.BodyCRC32 != want && h.BodyCRC32 != int32(sum) {
			s.log.Warn().Str("broker", h.BrokerAddr).Str("addr", conn.RemoteAddr().String()).
				Int32("header_crc32", h.BodyCRC32).Int32("body_crc32", want).Msg("register broker: crc32 not match")
			return failure(req, "crc32 not match: header bodyCrc32 %d, body crc32 %d", h.BodyCRC32, want)
		}
	}

	reg := registration{
		cluster:      h.ClusterName,
		addr:         h.BrokerAddr,
		name:         h.BrokerName,
		id:           h.BrokerID,
		haServerAddr: h.HAServerAddr,
		connID:       conn.ID(),
	}
	switch {
	case len(req.Body) == 0:
		reg.topics = &body.TopicConfigSerializeWrapper{TopicConfigTable: map[string]body.TopicConfig{}}
		reg.filterServers = []string{}
	case req.Version >= versionWithFilterServer:
		b, err := body.DecodeRegisterBrokerBody(req.Body, h.Compressed)
		if err != nil {
			return failure(req, "register broker %s (%s): %v", h.BrokerName, h.BrokerAddr, err)
		}
		reg.topics = &b.TopicConfigSerializeWrapper
		reg.filterServers = b.FilterServerList
	default:
		w, err := body.DecodeTopicConfigSerializeWrapper(req.Body)
		if err != nil {
			return failure(req, "register broker %s (%s): %v", h.BrokerName, h.BrokerAddr, err)
		}
		reg.topics = w
	}

	reg.now = s.now()
	res := s.routes.register(reg)
	s.trackConn(conn)
	ev := s.log.Debug()
	if res.newAddr {
		ev = s.log.Info()
	}
	ev.Str("broker", h.BrokerAddr).Str("broker_name", h.BrokerName).Int64("broker_id", h.BrokerID).
		Str("cluster", h.ClusterName).Int("topics", len(reg.topics.TopicConfigTable)).Msg("broker registered")

	resp := req.NewResponse(code.Success, "")
	rh := header.RegisterBrokerResponse{HAServerAddr: res.haServerAddr, MasterAddr: res.masterAddr}
	resp.ExtFields = rh.Encode()
	resp.Body = s.orderTopicTable() // handlers_admin.go
	return resp
}

// checkBrokerHeader rejects a registration that would corrupt clients' routes. The
// official Go client reads brokerAddrs as text, split on ',' and ':' with '"' removed,
// so an address holding whitespace, a comma, a quote or a brace would give every
// client of the topic a wrong address.
func checkBrokerHeader(name, addr, cluster string) error {
	if name == "" {
		return fmt.Errorf("brokerName is empty")
	}
	if cluster == "" {
		return fmt.Errorf("clusterName is empty")
	}
	if addr == "" {
		return fmt.Errorf("brokerAddr is empty")
	}
	if i := strings.IndexFunc(addr, func(r rune) bool {
		return r <= ' ' || r == ',' || r == '"' || r == '{' || r == '}' || r == 0x7f
	}); i >= 0 {
		return fmt.Errorf("brokerAddr %q: character %q at %d breaks clients' route parsing", addr, addr[i], i)
	}
	if !strings.Contains(addr, ":") {
		return fmt.Errorf("brokerAddr %q: want ip:port", addr)
	}
	return nil
}

// handleUnregisterBroker serves UNREGISTER_BROKER (104).
func (s *Server) handleUnregisterBroker(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.UnregisterBrokerRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "unregister broker: bad header: %v", err)
	}
	known := s.routes.unregister(h.ClusterName, h.BrokerAddr, h.BrokerName, h.BrokerID)
	s.log.Info().Str("broker", h.BrokerAddr).Str("broker_name", h.BrokerName).Int64("broker_id", h.BrokerID).
		Bool("was_registered", known).Msg("broker unregistered")
	return req.NewResponse(code.Success, "")
}

// handleQueryDataVersion serves QUERY_DATA_VERSION (322). The header names the broker
// (brokerAddr is the key); the body is its DataVersion JSON. The answer carries
// changed=true|false and, as its body, the version the table holds for the address.
func (s *Server) handleQueryDataVersion(_ *server.Conn, req *codec.Command) *codec.Command {
	addr, ok := req.ExtFields["brokerAddr"]
	if !ok {
		return failure(req, "query data version: bad header: missing brokerAddr")
	}
	var dv body.DataVersion
	if len(req.Body) > 0 {
		var err error
		if dv, err = body.DecodeDataVersion(req.Body); err != nil {
			return failure(req, "query data version from %s: %v", addr, err)
		}
	}
	changed, held := s.routes.queryDataVersion(addr, dv, s.now())
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields["changed"] = strconv.FormatBool(changed)
	if held != nil {
		resp.Body = held.AppendJSON(nil)
	}
	return resp
}

// handleGetRouteInfo serves GET_ROUTEINFO_BY_TOPIC (105). The body always has quoted
// brokerAddrs keys: every client parses them, whatever version it announces.
func (s *Server) handleGetRouteInfo(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetRouteInfoRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "get route info: bad header: %v", err)
	}
	r, ok := s.routes.route(h.Topic)
	if !ok {
		return req.NewResponse(code.TopicNotExist, "No topic route info in name server for the topic: "+h.Topic)
	}
	if s.orderMessageEnable.Load() {
		// As RocketMQ 4.9's getRouteInfoByTopic: only with orderMessageEnable, and
		// only when the ORDER_TOPIC_CONFIG namespace has the topic.
		r.OrderTopicConf, _ = s.kv.get(orderTopicNamespace, h.Topic)
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = r.Encode()
	return resp
}

// handleGetClusterInfo serves GET_BROKER_CLUSTER_INFO (106).
func (s *Server) handleGetClusterInfo(_ *server.Conn, req *codec.Command) *codec.Command {
	resp := req.NewResponse(code.Success, "")
	resp.Body = s.routes.clusterInfo().Encode()
	return resp
}

// handleGetAllTopicList serves GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206).
func (s *Server) handleGetAllTopicList(_ *server.Conn, req *codec.Command) *codec.Command {
	resp := req.NewResponse(code.Success, "")
	l := body.TopicList{TopicList: s.routes.allTopics()}
	resp.Body = l.Encode()
	return resp
}

// handleDeleteTopic serves DELETE_TOPIC_IN_NAMESRV (216).
func (s *Server) handleDeleteTopic(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.DeleteTopicRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "delete topic: bad header: %v", err)
	}
	s.routes.deleteTopic(h.Topic, h.ClusterName)
	s.log.Info().Str("topic", h.Topic).Str("cluster", h.ClusterName).Msg("topic deleted")
	return req.NewResponse(code.Success, "")
}

// handleGetTopicsByCluster serves GET_TOPICS_BY_CLUSTER (224).
func (s *Server) handleGetTopicsByCluster(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetTopicsByClusterRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "get topics by cluster: bad header: %v", err)
	}
	resp := req.NewResponse(code.Success, "")
	l := body.TopicList{TopicList: s.routes.topicsByCluster(h.Cluster)}
	resp.Body = l.Encode()
	return resp
}
