package header

// Version is a metadata table's version (body.DataVersion, which converts to and from
// it): milliseconds of the last change and a counter of changes.
type Version struct {
	Timestamp int64
	Counter   int64
}

// SlaveMetadataVersionRequest is the header of SLAVE_METADATA_VERSION (2500), a rocketgo
// extension: a slave reports the metadata versions it has applied and asks for its
// master's.
type SlaveMetadataVersionRequest struct {
	BrokerID int64   // brokerId: the slave's
	Topics   Version // topicsTimestamp, topicsCounter: the topic table applied
	Groups   Version // groupsTimestamp, groupsCounter: the group table applied
	// WaitMillis (waitMillis, optional): when the master's versions equal these, it may
	// hold the answer up to this long, answering as soon as a change is made.
	WaitMillis int64
}

// Encode implements Header.
func (h *SlaveMetadataVersionRequest) Encode() map[string]string {
	m := make(map[string]string, 6)
	m["brokerId"] = itoa64(h.BrokerID)
	putVersions(m, h.Topics, h.Groups)
	if h.WaitMillis != 0 {
		m["waitMillis"] = itoa64(h.WaitMillis)
	}
	return m
}

// Decode implements Header.
func (h *SlaveMetadataVersionRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = SlaveMetadataVersionRequest{BrokerID: r.i64("brokerId"), WaitMillis: r.optI64("waitMillis")}
	h.Topics, h.Groups = r.versions()
	return r.err
}

// SlaveMetadataVersionResponse is the answer's header: the master's versions.
type SlaveMetadataVersionResponse struct {
	Topics Version // topicsTimestamp, topicsCounter
	Groups Version // groupsTimestamp, groupsCounter
}

// Encode implements Header.
func (h *SlaveMetadataVersionResponse) Encode() map[string]string {
	m := make(map[string]string, 4)
	putVersions(m, h.Topics, h.Groups)
	return m
}

// Decode implements Header.
func (h *SlaveMetadataVersionResponse) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	h.Topics, h.Groups = r.versions()
	return r.err
}

func putVersions(m map[string]string, topics, groups Version) {
	m["topicsTimestamp"] = itoa64(topics.Timestamp)
	m["topicsCounter"] = itoa64(topics.Counter)
	m["groupsTimestamp"] = itoa64(groups.Timestamp)
	m["groupsCounter"] = itoa64(groups.Counter)
}

func (r *reader) versions() (topics, groups Version) {
	topics = Version{Timestamp: r.i64("topicsTimestamp"), Counter: r.i64("topicsCounter")}
	groups = Version{Timestamp: r.i64("groupsTimestamp"), Counter: r.i64("groupsCounter")}
	return topics, groups
}
