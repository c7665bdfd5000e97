package code

// NameServer administration request codes (RequestCode.java of RocketMQ 4.9;
// docs/protocol.md §12). WIPE_WRITE_PERM_OF_BROKER (205) is in code.go with the other
// codes from 200 up.
const (
	PutKVConfig          = 100 // PUT_KV_CONFIG: namesrv, set namespace/key to value in the persisted KV table.
	GetKVConfig          = 101 // GET_KV_CONFIG: namesrv, read one KV value; QUERY_NOT_FOUND when absent.
	DeleteKVConfig       = 102 // DELETE_KV_CONFIG: namesrv, remove one KV entry (absent is not an error).
	GetKVListByNamespace = 219 // GET_KVLIST_BY_NAMESPACE: namesrv, a namespace's KV entries as a KVTable body.
	UpdateNamesrvConfig  = 318 // UPDATE_NAMESRV_CONFIG: namesrv, change settings given as a properties body.
	GetNamesrvConfig     = 319 // GET_NAMESRV_CONFIG: namesrv, the settings as a properties body.
	AddWritePermOfBroker = 327 // ADD_WRITE_PERM_OF_BROKER: namesrv, give a broker's queues read and write permission again.
)
