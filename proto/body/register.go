package body

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/internal/jsonstr"
)

// Topic filter types (Java's TopicFilterType enum, written by name).
const (
	FilterSingleTag = "SINGLE_TAG"
	FilterMultiTag  = "MULTI_TAG"
)

// Permission bits of a topic or queue (PermName.java). A normal topic has
// PermRead|PermWrite (6); TBW102 adds PermInherit (7).
const (
	PermPriority = 8
	PermRead     = 4
	PermWrite    = 2
	PermInherit  = 1
)

// Defaults of a Java TopicConfig; a JSON topic config that leaves a field out gets
// these, as fastjson leaves Java's field initialisers in place.
const (
	DefaultReadQueueNums  = 16
	DefaultWriteQueueNums = 16
	DefaultPerm           = PermRead | PermWrite
)

// DataVersion identifies one state of a broker's topic configuration: the broker bumps
// it on every topic change, and the namesrv rebuilds that broker's queue data only
// when a registration carries a version it has not seen.
type DataVersion struct {
	Timestamp int64 `json:"timestamp"` // milliseconds since the epoch
	Counter   int64 `json:"counter"`
}

// AppendJSON appends {"counter":c,"timestamp":t} (fastjson's key order) to dst.
func (v DataVersion) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"counter":`...)
	dst = strconv.AppendInt(dst, v.Counter, 10)
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, v.Timestamp, 10)
	return append(dst, '}')
}

// DecodeDataVersion parses a DataVersion body, as QUERY_DATA_VERSION carries it.
func DecodeDataVersion(data []byte) (DataVersion, error) {
	var v DataVersion
	if err := decodeJSONObject(data, &v); err != nil {
		return DataVersion{}, fmt.Errorf("data version: %w", err)
	}
	return v, nil
}

// TopicConfig is one topic's configuration on a broker, in the JSON shape of Java's
// TopicConfig.
type TopicConfig struct {
	TopicName       string `json:"topicName"`
	ReadQueueNums   int32  `json:"readQueueNums"`
	WriteQueueNums  int32  `json:"writeQueueNums"`
	Perm            int32  `json:"perm"`
	TopicFilterType string `json:"topicFilterType"` // FilterSingleTag or FilterMultiTag
	TopicSysFlag    int32  `json:"topicSysFlag"`
	Order           bool   `json:"order"`
	// Attributes are RocketMQ 5's topic attributes (keys without the request's "+").
	Attributes map[string]string `json:"attributes,omitempty"`
}

// UnmarshalJSON decodes a topic config, giving absent fields Java's defaults
// (16 read and write queues, perm 6, SINGLE_TAG).
func (t *TopicConfig) UnmarshalJSON(data []byte) error {
	type plain TopicConfig // no methods: no recursion
	p := plain{
		ReadQueueNums:   DefaultReadQueueNums,
		WriteQueueNums:  DefaultWriteQueueNums,
		Perm:            DefaultPerm,
		TopicFilterType: FilterSingleTag,
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*t = TopicConfig(p)
	return nil
}

// AppendJSON appends the topic config as compact JSON with fastjson's (sorted) key
// order.
func (t *TopicConfig) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	if len(t.Attributes) > 0 {
		dst = append(dst, `"attributes":{`...)
		for i, k := range sortedKeys(t.Attributes) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonstr.Append(dst, k)
			dst = append(dst, ':')
			dst = jsonstr.Append(dst, t.Attributes[k])
		}
		dst = append(dst, `},`...)
	}
	dst = append(dst, `"order":`...)
	dst = strconv.AppendBool(dst, t.Order)
	dst = append(dst, `,"perm":`...)
	dst = strconv.AppendInt(dst, int64(t.Perm), 10)
	dst = append(dst, `,"readQueueNums":`...)
	dst = strconv.AppendInt(dst, int64(t.ReadQueueNums), 10)
	dst = append(dst, `,"topicFilterType":`...)
	dst = jsonstr.Append(dst, t.TopicFilterType)
	dst = append(dst, `,"topicName":`...)
	dst = jsonstr.Append(dst, t.TopicName)
	dst = append(dst, `,"topicSysFlag":`...)
	dst = strconv.AppendInt(dst, int64(t.TopicSysFlag), 10)
	dst = append(dst, `,"writeQueueNums":`...)
	dst = strconv.AppendInt(dst, int64(t.WriteQueueNums), 10)
	return append(dst, '}')
}

// EncodeText returns Java's TopicConfig.encode() text, the per-topic record of the
// compressed RegisterBrokerBody: "name read write perm filterType" separated by
// single spaces. topicSysFlag and order are not part of it. An empty filter type is
// written as SINGLE_TAG, Java's default.
func (t *TopicConfig) EncodeText() (string, error) {
	if strings.Contains(t.TopicName, " ") {
		return "", fmt.Errorf("body: topic %q: a space cannot be encoded in the compressed form", t.TopicName)
	}
	ft := t.TopicFilterType
	if ft == "" {
		ft = FilterSingleTag
	}
	if ft != FilterSingleTag && ft != FilterMultiTag {
		return "", fmt.Errorf("body: topic %q: unknown topicFilterType %q", t.TopicName, ft)
	}
	return t.TopicName + " " + strconv.FormatInt(int64(t.ReadQueueNums), 10) + " " +
		strconv.FormatInt(int64(t.WriteQueueNums), 10) + " " +
		strconv.FormatInt(int64(t.Perm), 10) + " " + ft, nil
}

// DecodeTopicConfigText parses the text EncodeText writes, as Java's
// TopicConfig.decode does: exactly five space-separated fields (trailing empty fields
// are dropped first, as String.split does), decimal int32 counts and perm, and a
// filter type of SINGLE_TAG or MULTI_TAG. topicSysFlag and order come out zero.
func DecodeTopicConfigText(s string) (TopicConfig, error) {
	f := strings.Split(s, " ")
	for len(f) > 0 && f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	if len(f) != 5 {
		return TopicConfig{}, fmt.Errorf("%w: topic config %q: want 5 space-separated fields, got %d", ErrMalformed, s, len(f))
	}
	var nums [3]int32
	for i := range nums {
		n, err := strconv.ParseInt(f[i+1], 10, 32)
		if err != nil {
			return TopicConfig{}, fmt.Errorf("%w: topic config %q: field %d: %v", ErrMalformed, s, i+2, err)
		}
		nums[i] = int32(n)
	}
	if f[4] != FilterSingleTag && f[4] != FilterMultiTag {
		return TopicConfig{}, fmt.Errorf("%w: topic config %q: unknown topicFilterType %q", ErrMalformed, s, f[4])
	}
	return TopicConfig{
		TopicName:       strings.ToValidUTF8(f[0], "\uFFFD"),
		ReadQueueNums:   nums[0],
		WriteQueueNums:  nums[1],
		Perm:            nums[2],
		TopicFilterType: f[4],
	}, nil
}

// TopicConfigSerializeWrapper is a broker's whole topic configuration with its
// version: the registration payload, and also the body of GET_ALL_TOPIC_CONFIG.
type TopicConfigSerializeWrapper struct {
	TopicConfigTable map[string]TopicConfig `json:"topicConfigTable"`
	DataVersion      DataVersion            `json:"dataVersion"`
}

// AppendJSON appends {"dataVersion":…,"topicConfigTable":{…}} with topics sorted by
// name.
func (w *TopicConfigSerializeWrapper) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"dataVersion":`...)
	dst = w.DataVersion.AppendJSON(dst)
	dst = append(dst, `,"topicConfigTable":{`...)
	for i, name := range sortedKeys(w.TopicConfigTable) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, name)
		dst = append(dst, ':')
		tc := w.TopicConfigTable[name]
		dst = tc.AppendJSON(dst)
	}
	return append(dst, "}}"...)
}

// DecodeTopicConfigSerializeWrapper parses the JSON AppendJSON writes (and Java's).
// The table is never nil.
func DecodeTopicConfigSerializeWrapper(data []byte) (*TopicConfigSerializeWrapper, error) {
	w := new(TopicConfigSerializeWrapper)
	if err := decodeJSONObject(data, w); err != nil {
		return nil, fmt.Errorf("topic config wrapper: %w", err)
	}
	if w.TopicConfigTable == nil {
		w.TopicConfigTable = map[string]TopicConfig{}
	}
	return w, nil
}

// RegisterBrokerBody is the body of REGISTER_BROKER (103): the broker's topic
// configuration and its filter servers. It travels as JSON, or, when the request's
// compressed extField is "true", in the zlib layout drawn in the package doc.
type RegisterBrokerBody struct {
	TopicConfigSerializeWrapper TopicConfigSerializeWrapper `json:"topicConfigSerializeWrapper"`
	FilterServerList            []string                    `json:"filterServerList"`
}

// Encode returns the body as JSON, or in the compressed layout when compress is set.
// Only the compressed form can fail: it cannot carry a topic name containing a space
// or an unknown filter type. In the compressed form topics are written in name order,
// and each topic's record is its EncodeText (no topicSysFlag, no order flag), as
// Java writes it.
func (b *RegisterBrokerBody) Encode(compress bool) ([]byte, error) {
	if !compress {
		return b.AppendJSON(nil), nil
	}
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("body: zlib writer: %w", err)
	}
	w := &lengthPrefixWriter{w: zw}
	w.record(b.TopicConfigSerializeWrapper.DataVersion.AppendJSON(nil))
	table := b.TopicConfigSerializeWrapper.TopicConfigTable
	w.int32(int32(len(table)))
	for _, name := range sortedKeys(table) {
		tc := table[name]
		text, err := tc.EncodeText()
		if err != nil {
			return nil, err
		}
		w.record([]byte(text))
	}
	w.record(appendStringList(nil, b.FilterServerList))
	if w.err != nil {
		return nil, fmt.Errorf("body: compress: %w", w.err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("body: compress: %w", err)
	}
	return buf.Bytes(), nil
}

// AppendJSON appends the body's JSON form, keys in fastjson's order:
// {"filterServerList":[…],"topicConfigSerializeWrapper":{…}}.
func (b *RegisterBrokerBody) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"filterServerList":`...)
	dst = appendStringList(dst, b.FilterServerList)
	dst = append(dst, `,"topicConfigSerializeWrapper":`...)
	dst = b.TopicConfigSerializeWrapper.AppendJSON(dst)
	return append(dst, '}')
}

// lengthPrefixWriter writes the compressed layout's int32-prefixed records and keeps
// the first error.
type lengthPrefixWriter struct {
	w   io.Writer
	err error
}

func (w *lengthPrefixWriter) int32(n int32) {
	if w.err == nil {
		_, w.err = w.w.Write(binary.BigEndian.AppendUint32(nil, uint32(n)))
	}
}

func (w *lengthPrefixWriter) record(p []byte) {
	w.int32(int32(len(p)))
	if w.err == nil {
		_, w.err = w.w.Write(p)
	}
}

// DecodeRegisterBrokerBody parses a REGISTER_BROKER body in its JSON form or, when
// compressed is set, in the zlib layout. The compressed form may inflate to at most
// MaxBodyBytes; every length in it is checked against what is left of that budget
// before anything is read, and storage grows only as inflated bytes actually arrive.
// Bytes after the filter-server list are ignored, as Java ignores them. The topic
// table and filter list are never nil.
func DecodeRegisterBrokerBody(data []byte, compressed bool) (*RegisterBrokerBody, error) {
	var b *RegisterBrokerBody
	var err error
	if compressed {
		b, err = decodeCompressedRegisterBody(data)
	} else {
		b = new(RegisterBrokerBody)
		err = decodeJSONObject(data, b)
	}
	if err != nil {
		return nil, fmt.Errorf("register body: %w", err)
	}
	if b.TopicConfigSerializeWrapper.TopicConfigTable == nil {
		b.TopicConfigSerializeWrapper.TopicConfigTable = map[string]TopicConfig{}
	}
	if b.FilterServerList == nil {
		b.FilterServerList = []string{}
	}
	return b, nil
}

func decodeCompressedRegisterBody(data []byte) (*RegisterBrokerBody, error) {
	if len(data) > MaxBodyBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxBodyBytes)
	}
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: zlib: %v", ErrMalformed, err)
	}
	defer zr.Close()
	r := &boundedRecordReader{r: zr, left: MaxBodyBytes}

	b := new(RegisterBrokerBody)
	dv, err := r.record("dataVersion")
	if err != nil {
		return nil, err
	}
	if err := decodeJSONObject(dv, &b.TopicConfigSerializeWrapper.DataVersion); err != nil {
		return nil, fmt.Errorf("dataVersion: %w", err)
	}
	count, err := r.int32("topic count")
	if err != nil {
		return nil, err
	}
	// Each topic takes at least its 4-byte length, so a count the budget cannot hold
	// is a lie; refusing it here also bounds the map's preallocation.
	if count < 0 || int64(count)*4 > r.left {
		return nil, fmt.Errorf("%w: topic count %d does not fit in the body", ErrMalformed, count)
	}
	table := make(map[string]TopicConfig, min(int(count), 1024))
	for i := range int(count) {
		text, err := r.record("topic config")
		if err != nil {
			return nil, fmt.Errorf("topic %d: %w", i, err)
		}
		tc, err := DecodeTopicConfigText(string(text))
		if err != nil {
			return nil, fmt.Errorf("topic %d: %w", i, err)
		}
		table[tc.TopicName] = tc
	}
	b.TopicConfigSerializeWrapper.TopicConfigTable = table
	fl, err := r.record("filter server list")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(fl, &b.FilterServerList); err != nil {
		return nil, fmt.Errorf("%w: filter server list: %v", ErrMalformed, err)
	}
	return b, nil
}

// boundedRecordReader reads int32-prefixed records from an inflating reader, charging
// each against a budget of inflated bytes. A record it returns is valid only until the
// next read: small records share one scratch buffer.
type boundedRecordReader struct {
	r       io.Reader
	left    int64
	scratch []byte
}

// smallRecord is the largest record read into the scratch buffer with its claimed
// length reserved up front; a claim that large costs at most this much if it is a lie.
const smallRecord = 64 << 10

func (r *boundedRecordReader) read(what string, n int64) ([]byte, error) {
	if n > r.left {
		return nil, fmt.Errorf("%w: %s of %d bytes exceeds the %d-byte inflate limit", ErrTooLarge, what, n, MaxBodyBytes)
	}
	r.left -= n
	if n <= smallRecord {
		if int64(cap(r.scratch)) < n {
			r.scratch = make([]byte, n, max(n, 512))
		}
		p := r.scratch[:n]
		if got, err := io.ReadFull(r.r, p); err != nil {
			return nil, fmt.Errorf("%w: %s: stream ends after %d of %d bytes: %v", ErrMalformed, what, got, n, err)
		}
		return p, nil
	}
	// ReadAll over a LimitReader grows the buffer as bytes arrive, so a large claimed
	// length costs memory only if the stream really holds that much.
	p, err := io.ReadAll(io.LimitReader(r.r, n))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	if int64(len(p)) != n {
		return nil, fmt.Errorf("%w: %s: stream ends after %d of %d bytes", ErrMalformed, what, len(p), n)
	}
	return p, nil
}

func (r *boundedRecordReader) int32(what string) (int32, error) {
	p, err := r.read(what, 4)
	if err != nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(p)), nil
}

func (r *boundedRecordReader) record(what string) ([]byte, error) {
	n, err := r.int32(what + " length")
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("%w: %s length %d", ErrMalformed, what, n)
	}
	return r.read(what, int64(n))
}
