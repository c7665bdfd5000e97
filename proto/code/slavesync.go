package code

// Request codes of a slave to its rocketgo master (rocketgo extensions, see rocketgo.go;
// numbered from 2500 up). Replication between brokers is rocketgo's own (docs/protocol.md
// §10), so only rocketgo brokers send them; a master that answers
// REQUEST_CODE_NOT_SUPPORTED leaves the slave with the periodic copy alone.
const (
	// SlaveMetadataVersion (2500) is a slave's cheap, frequent look at its master's
	// metadata versions, and its report of the versions it has applied (which lets a
	// master answer a topic or group change only once its slaves have it).
	// ExtFields: header.SlaveMetadataVersionRequest; answer: SUCCESS with
	// header.SlaveMetadataVersionResponse.
	SlaveMetadataVersion = 2500
	// RelayConsumerOffsets (2501) hands a master the offsets consumers committed on its
	// slave while the master was down. Body: the ConsumerOffsetSerializeWrapper JSON of
	// GET_ALL_CONSUMER_OFFSET (43). The master keeps, per queue, the larger of its own
	// offset and the relayed one, so a relay never moves an offset back.
	RelayConsumerOffsets = 2501
)
