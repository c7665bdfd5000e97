package index

// fnv64a returns the 64-bit hash an entry of (topic, key) is stored under: FNV-1a over
// the topic, a zero byte and the key. It is part of the on-disk format.
func fnv64a(topic, key []byte) uint64 { return fnvKey(fnvTopic(topic), key) }

// FNV-1a's 64-bit parameters.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvTopic returns the FNV-1a state after topic and the zero separator.
func fnvTopic(topic []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range topic {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h * fnvPrime // the zero separator: h ^= 0 leaves h as is
}

// fnvKey continues the state h of fnvTopic over key.
func fnvKey(h uint64, key []byte) uint64 {
	for _, c := range key {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}
