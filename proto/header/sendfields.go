package header

import "github.com/rocketgo/rocketgo/proto/code"

// SendFields collects the entries of a send header without a map: a receiver that walks
// a frame's extFields itself (the broker's batched sends) puts every entry in, and
// DecodeSendFields reads them exactly as DecodeSend reads the map of the same frame: the
// same fields, the same errors. Only the keys of the request code's form are kept
// (other keys, such as an ACL signature, are ignored by the decode anyway); a later
// entry of a key replaces an earlier one and a deleted key is absent again, as in the
// map.
type SendFields struct {
	form sendForm
	has  uint16                    // bit i: val[i] is present
	val  [len(sendKeys) + 1]string // sendKeys order, then brokerName (short form only)
	// i32 holds the decoded maxReconsumeTimes, which the header points to: a decode
	// from SendFields allocates nothing, and the header is valid while f is unchanged.
	i32 int32
}

// brokerNameSlot is the index of "n" in SendFields.val.
const brokerNameSlot = len(sendKeys)

// NewSendFields returns an empty SendFields for the form of reqCode, and false when
// reqCode is not a send code (DecodeSend's codes).
func NewSendFields(reqCode int32) (SendFields, bool) {
	switch reqCode {
	case code.SendMessageV2, code.SendBatchMessage, code.SendReplyMessageV2:
		return SendFields{form: shortForm}, true
	case code.SendMessage, code.SendReplyMessage:
		return SendFields{form: longForm}, true
	}
	return SendFields{}, false
}

// slot returns the index of key in f.val, or -1 for a key the form does not read.
func (f *SendFields) slot(key string) int {
	if f.form == shortForm {
		// The short keys are "a" to "m" in sendKeys order, then "n".
		if len(key) == 1 && key[0] >= 'a' && int(key[0]-'a') <= brokerNameSlot {
			return int(key[0] - 'a')
		}
		return -1
	}
	for i := range sendKeys {
		if sendKeys[i][longForm] == key {
			return i
		}
	}
	return -1
}

// Put records the entry key = v, or removes key when del is set.
func (f *SendFields) Put(key, v string, del bool) {
	i := f.slot(key)
	switch {
	case i < 0:
	case del:
		f.has &^= 1 << i
		f.val[i] = ""
	default:
		f.has |= 1 << i
		f.val[i] = v
	}
}

// get is the map lookup of reader.
func (f *SendFields) get(key string) (string, bool) {
	i := f.slot(key)
	if i < 0 || f.has&(1<<i) == 0 {
		return "", false
	}
	return f.val[i], true
}

// DecodeSendFields is DecodeSend over the entries collected in f (NewSendFields with
// the same reqCode). The header's MaxReconsumeTimes points into f.
func DecodeSendFields(reqCode int32, f *SendFields) (SendMessageRequestV2, error) {
	var h SendMessageRequestV2
	want, ok := NewSendFields(reqCode)
	if !ok || want.form != f.form {
		return DecodeSend(reqCode, nil) // the error for a code that is not a send code
	}
	r := reader{sf: f}
	h.SendMessageRequest.decode(&r, f.form)
	if f.form == shortForm {
		h.BrokerName = r.optStr(brokerNameKey)
	}
	return h, r.err
}
