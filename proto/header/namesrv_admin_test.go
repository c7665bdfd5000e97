package header

// namesrvAdminCases are the headers of namesrv_admin.go, with the key lists of the
// Java classes in common/protocol/header/namesrv (RocketMQ 4.9).
func namesrvAdminCases() []headerCase {
	return []headerCase{
		{
			name: "PutKVConfigRequest", new: func() Header { return new(PutKVConfigRequest) },
			sample:   &PutKVConfigRequest{Namespace: "ORDER_TOPIC_CONFIG", Key: "orders", Value: "broker-a:4"},
			required: []string{"namespace", "key", "value"},
		},
		{
			name: "KVConfigRequest", new: func() Header { return new(KVConfigRequest) },
			sample:   &KVConfigRequest{Namespace: "ORDER_TOPIC_CONFIG", Key: "orders"},
			required: []string{"namespace", "key"},
		},
		{
			name: "GetKVConfigResponse", new: func() Header { return new(GetKVConfigResponse) },
			sample:   &GetKVConfigResponse{Value: "broker-a:4"},
			optional: []string{"value"},
		},
		{
			name: "GetKVListByNamespaceRequest", new: func() Header { return new(GetKVListByNamespaceRequest) },
			sample:   &GetKVListByNamespaceRequest{Namespace: "ORDER_TOPIC_CONFIG"},
			required: []string{"namespace"},
		},
		{
			name: "WritePermOfBrokerRequest", new: func() Header { return new(WritePermOfBrokerRequest) },
			sample:   &WritePermOfBrokerRequest{BrokerName: "broker-a"},
			required: []string{"brokerName"},
		},
		{
			name: "WipeWritePermOfBrokerResponse", new: func() Header { return new(WipeWritePermOfBrokerResponse) },
			sample:   &WipeWritePermOfBrokerResponse{WipeTopicCount: 7},
			required: []string{"wipeTopicCount"}, numeric: []string{"wipeTopicCount"},
		},
		{
			name: "AddWritePermOfBrokerResponse", new: func() Header { return new(AddWritePermOfBrokerResponse) },
			sample:   &AddWritePermOfBrokerResponse{AddTopicCount: 7},
			required: []string{"addTopicCount"}, numeric: []string{"addTopicCount"},
		},
	}
}
