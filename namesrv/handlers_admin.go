package namesrv

import (
	"strings"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// This file serves the NameServer administration requests of Apache's
// DefaultRequestProcessor: the KV table, a broker's write permission and the
// NameServer's own settings (docs/protocol.md §12).

// handlePutKVConfig serves PUT_KV_CONFIG (100).
func (s *Server) handlePutKVConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.PutKVConfigRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "put kv config: bad header: %v", err)
	}
	if err := s.kv.put(h.Namespace, h.Key, h.Value); err != nil {
		s.log.Error().Err(err).Str("namespace", h.Namespace).Str("key", h.Key).Msg("put kv config")
		return failure(req, "put kv config: %v", err)
	}
	s.log.Info().Str("namespace", h.Namespace).Str("key", h.Key).Str("value", h.Value).Msg("kv config put")
	return req.NewResponse(code.Success, "")
}

// handleGetKVConfig serves GET_KV_CONFIG (101): the value in the answer's header, or
// QUERY_NOT_FOUND with Java's remark.
func (s *Server) handleGetKVConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.KVConfigRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "get kv config: bad header: %v", err)
	}
	v, ok := s.kv.get(h.Namespace, h.Key)
	if !ok {
		return req.NewResponse(code.QueryNotFound, "No config item, Namespace: "+h.Namespace+" Key: "+h.Key)
	}
	resp := req.NewResponse(code.Success, "")
	// value is always sent, even when empty: the entry exists.
	resp.ExtFields = map[string]string{"value": v}
	return resp
}

// handleDeleteKVConfig serves DELETE_KV_CONFIG (102); deleting an absent key succeeds.
func (s *Server) handleDeleteKVConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.KVConfigRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "delete kv config: bad header: %v", err)
	}
	if err := s.kv.remove(h.Namespace, h.Key); err != nil {
		s.log.Error().Err(err).Str("namespace", h.Namespace).Str("key", h.Key).Msg("delete kv config")
		return failure(req, "delete kv config: %v", err)
	}
	s.log.Info().Str("namespace", h.Namespace).Str("key", h.Key).Msg("kv config deleted")
	return req.NewResponse(code.Success, "")
}

// handleGetKVList serves GET_KVLIST_BY_NAMESPACE (219): a KVTable body, or
// QUERY_NOT_FOUND for a namespace never written.
func (s *Server) handleGetKVList(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetKVListByNamespaceRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "get kv list: bad header: %v", err)
	}
	kv, ok := s.kv.list(h.Namespace)
	if !ok {
		return req.NewResponse(code.QueryNotFound, "No config item, Namespace: "+h.Namespace)
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = (&body.KVTable{Table: kv}).Encode()
	return resp
}

// orderTopicTable is the body REGISTER_BROKER answers carry, as in RocketMQ 4.9: the
// ORDER_TOPIC_CONFIG namespace as a KVTable, nil when it was never written. A Java
// broker marks the listed topics as ordered.
func (s *Server) orderTopicTable() []byte {
	kv, ok := s.kv.list(orderTopicNamespace)
	if !ok {
		return nil
	}
	return (&body.KVTable{Table: kv}).Encode()
}

// handleWipeWritePerm serves WIPE_WRITE_PERM_OF_BROKER (205).
func (s *Server) handleWipeWritePerm(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.WritePermOfBrokerRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "wipe write perm: bad header: %v", err)
	}
	n := s.routes.wipeWritePerm(h.BrokerName)
	s.log.Info().Str("broker_name", h.BrokerName).Int("topics", n).Msg("write perm of broker wiped")
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = (&header.WipeWritePermOfBrokerResponse{WipeTopicCount: int32(n)}).Encode()
	return resp
}

// handleAddWritePerm serves ADD_WRITE_PERM_OF_BROKER (327).
func (s *Server) handleAddWritePerm(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.WritePermOfBrokerRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return failure(req, "add write perm: bad header: %v", err)
	}
	n := s.routes.addWritePerm(h.BrokerName)
	s.log.Info().Str("broker_name", h.BrokerName).Int("topics", n).Msg("write perm of broker added")
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = (&header.AddWritePermOfBrokerResponse{AddTopicCount: int32(n)}).Encode()
	return resp
}

// handleGetConfig serves GET_NAMESRV_CONFIG (319): the settings as properties text.
func (s *Server) handleGetConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	resp := req.NewResponse(code.Success, "")
	resp.Body = []byte(s.configText())
	return resp
}

// handleUpdateConfig serves UPDATE_NAMESRV_CONFIG (318). The body is properties text;
// none is a no-op, as in Java. kvConfigPath and configStorePath are refused with
// NO_PERMISSION and Java's remark; an unknown key or a bad value refuses the whole
// request, naming them; the live keys are applied; keys read only at start are not,
// and the SUCCESS answer's remark names them.
func (s *Server) handleUpdateConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	if len(req.Body) == 0 {
		return req.NewResponse(code.Success, "")
	}
	u := s.updateConfig(parseProperties(string(req.Body)))
	switch {
	case u.pathKey != "":
		return req.NewResponse(code.NoPermission, "Can not update config path")
	case len(u.unknown) > 0:
		return failure(req, "unknown namesrv config keys: %s", strings.Join(u.unknown, ", "))
	case len(u.bad) > 0:
		return failure(req, "bad namesrv config values: %s", strings.Join(u.bad, "; "))
	}
	s.log.Info().Str("body", string(req.Body)).Msg("namesrv config updated")
	remark := ""
	if len(u.restart) > 0 {
		remark = "not applied, read only at start: " + strings.Join(u.restart, ", ")
	}
	return req.NewResponse(code.Success, remark)
}
