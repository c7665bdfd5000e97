package header

import "testing"

// TestSlaveMetadataVersionRoundTrip: the request and answer keep every field, and a
// missing version is a decode error naming the key.
func TestSlaveMetadataVersionRoundTrip(t *testing.T) {
	req := SlaveMetadataVersionRequest{BrokerID: 2, Topics: Version{1690000000123, 7}, Groups: Version{1690000000456, 3}, WaitMillis: 500}
	var back SlaveMetadataVersionRequest
	if err := back.Decode(req.Encode()); err != nil || back != req {
		t.Fatalf("request round trip: %+v (%v), want %+v", back, err, req)
	}
	resp := SlaveMetadataVersionResponse{Topics: Version{5, 9}, Groups: Version{6, 10}}
	var rback SlaveMetadataVersionResponse
	if err := rback.Decode(resp.Encode()); err != nil || rback != resp {
		t.Fatalf("response round trip: %+v (%v), want %+v", rback, err, resp)
	}
	ext := req.Encode()
	delete(ext, "groupsCounter")
	err := back.Decode(ext)
	checkDecodeError(t, "SlaveMetadataVersionRequest", err)
	if ke := err.(*KeyError); ke.Key != "groupsCounter" {
		t.Fatalf("error names %q, want groupsCounter", ke.Key)
	}
}

// FuzzSlaveMetadataVersion: decoding never panics, errors are KeyErrors, and what
// decodes re-encodes to what decodes to the same value.
func FuzzSlaveMetadataVersion(f *testing.F) {
	f.Add(mapToBytes((&SlaveMetadataVersionRequest{BrokerID: 1, Topics: Version{1, 2}, Groups: Version{3, 4}}).Encode()))
	f.Add([]byte("brokerId=-1\ntopicsCounter=9223372036854775807\ntopicsTimestamp=x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ext := mapFromBytes(data)
		var q1, q2 SlaveMetadataVersionRequest
		if err := q1.Decode(ext); err != nil {
			checkDecodeError(t, "request", err)
		} else if err := q2.Decode(q1.Encode()); err != nil || q1 != q2 {
			t.Fatalf("request round trip: %+v → %+v (%v)", q1, q2, err)
		}
		var r1, r2 SlaveMetadataVersionResponse
		if err := r1.Decode(ext); err != nil {
			checkDecodeError(t, "response", err)
		} else if err := r2.Decode(r1.Encode()); err != nil || r1 != r2 {
			t.Fatalf("response round trip: %+v → %+v (%v)", r1, r2, err)
		}
	})
}
