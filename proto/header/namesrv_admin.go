package header

// This file holds the headers of the NameServer administration requests: the KV
// table (PUT/GET/DELETE_KV_CONFIG, GET_KVLIST_BY_NAMESPACE) and a broker's write
// permission (WIPE/ADD_WRITE_PERM_OF_BROKER) — the classes of
// common/protocol/header/namesrv in RocketMQ 4.9. Every request key is @CFNotNull
// there, so every one is required here.

// PutKVConfigRequest is the header of PUT_KV_CONFIG (100) — PutKVConfigRequestHeader.java.
type PutKVConfigRequest struct {
	Namespace string // namespace
	Key       string // key
	Value     string // value
}

// Encode implements Header.
func (h *PutKVConfigRequest) Encode() map[string]string {
	return map[string]string{"namespace": h.Namespace, "key": h.Key, "value": h.Value}
}

// Decode implements Header.
func (h *PutKVConfigRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = PutKVConfigRequest{Namespace: r.str("namespace"), Key: r.str("key"), Value: r.str("value")}
	return r.err
}

// KVConfigRequest is the header of GET_KV_CONFIG (101) and DELETE_KV_CONFIG (102) —
// GetKVConfigRequestHeader.java and DeleteKVConfigRequestHeader.java, which have the
// same two keys.
type KVConfigRequest struct {
	Namespace string // namespace
	Key       string // key
}

// Encode implements Header.
func (h *KVConfigRequest) Encode() map[string]string {
	return map[string]string{"namespace": h.Namespace, "key": h.Key}
}

// Decode implements Header.
func (h *KVConfigRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = KVConfigRequest{Namespace: r.str("namespace"), Key: r.str("key")}
	return r.err
}

// GetKVConfigResponse is the header of the GET_KV_CONFIG (101) answer —
// GetKVConfigResponseHeader.java (value is @CFNullable: absent on QUERY_NOT_FOUND).
type GetKVConfigResponse struct {
	Value string // value (optional)
}

// Encode implements Header.
func (h *GetKVConfigResponse) Encode() map[string]string {
	m := make(map[string]string, 1)
	putOpt(m, "value", h.Value)
	return m
}

// Decode implements Header.
func (h *GetKVConfigResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = GetKVConfigResponse{Value: r.optStr("value")}
	return r.err
}

// GetKVListByNamespaceRequest is the header of GET_KVLIST_BY_NAMESPACE (219) —
// GetKVListByNamespaceRequestHeader.java.
type GetKVListByNamespaceRequest struct {
	Namespace string // namespace
}

// Encode implements Header.
func (h *GetKVListByNamespaceRequest) Encode() map[string]string {
	return map[string]string{"namespace": h.Namespace}
}

// Decode implements Header.
func (h *GetKVListByNamespaceRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = GetKVListByNamespaceRequest{Namespace: r.str("namespace")}
	return r.err
}

// WritePermOfBrokerRequest is the header of WIPE_WRITE_PERM_OF_BROKER (205) and
// ADD_WRITE_PERM_OF_BROKER (327) — WipeWritePermOfBrokerRequestHeader.java and
// AddWritePermOfBrokerRequestHeader.java, which both carry only brokerName.
type WritePermOfBrokerRequest struct {
	BrokerName string // brokerName
}

// Encode implements Header.
func (h *WritePermOfBrokerRequest) Encode() map[string]string {
	return map[string]string{"brokerName": h.BrokerName}
}

// Decode implements Header.
func (h *WritePermOfBrokerRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = WritePermOfBrokerRequest{BrokerName: r.str("brokerName")}
	return r.err
}

// WipeWritePermOfBrokerResponse is the header of the WIPE_WRITE_PERM_OF_BROKER (205)
// answer — WipeWritePermOfBrokerResponseHeader.java: how many topics had queue data of
// the broker.
type WipeWritePermOfBrokerResponse struct {
	WipeTopicCount int32 // wipeTopicCount
}

// Encode implements Header.
func (h *WipeWritePermOfBrokerResponse) Encode() map[string]string {
	return map[string]string{"wipeTopicCount": itoa32(h.WipeTopicCount)}
}

// Decode implements Header.
func (h *WipeWritePermOfBrokerResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = WipeWritePermOfBrokerResponse{WipeTopicCount: r.i32("wipeTopicCount")}
	return r.err
}

// AddWritePermOfBrokerResponse is the header of the ADD_WRITE_PERM_OF_BROKER (327)
// answer — AddWritePermOfBrokerResponseHeader.java.
type AddWritePermOfBrokerResponse struct {
	AddTopicCount int32 // addTopicCount
}

// Encode implements Header.
func (h *AddWritePermOfBrokerResponse) Encode() map[string]string {
	return map[string]string{"addTopicCount": itoa32(h.AddTopicCount)}
}

// Decode implements Header.
func (h *AddWritePermOfBrokerResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = AddWritePermOfBrokerResponse{AddTopicCount: r.i32("addTopicCount")}
	return r.err
}
