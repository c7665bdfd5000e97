package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/internal/jsonstr"
)

// frameOf wraps a header (serialize type typ) and body into a whole frame, prefix
// included.
func frameOf(typ byte, header, body []byte) []byte {
	f := binary.BigEndian.AppendUint32(nil, uint32(4+len(header)+len(body)))
	f = binary.BigEndian.AppendUint32(f, uint32(typ)<<24|uint32(len(header)))
	f = append(f, header...)
	return append(f, body...)
}

// decodeWhole decodes a frame that still has its length prefix.
func decodeWhole(t testing.TB, f []byte) *Command {
	t.Helper()
	n, err := FrameLength(f, 0)
	if err != nil {
		t.Fatalf("frame length: %v", err)
	}
	if n != len(f)-4 {
		t.Fatalf("frame length: got %d, want %d", n, len(f)-4)
	}
	c, err := DecodeFrame(f[4:])
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return c
}

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeGoClientJSON(t *testing.T) {
	h := golden(t, "go_client_route_request.json")
	c := decodeWhole(t, frameOf(SerializeJSON, h, []byte("body")))
	want := &Command{Code: 105, Language: "GO", Version: 317, Opaque: 2, Flag: 0, Remark: "",
		ExtFields: map[string]string{"topic": "T"}, Body: []byte("body"), Serialize: SerializeJSON}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("decode go client header:\n got %+v\nwant %+v", c, want)
	}
	if c.IsResponse() || c.IsOneway() {
		t.Fatalf("flags: response %v oneway %v, want false false", c.IsResponse(), c.IsOneway())
	}
}

func TestDecodeJavaJSON(t *testing.T) {
	c := decodeWhole(t, frameOf(SerializeJSON, golden(t, "java_send_response.json"), nil))
	want := &Command{Code: 0, Language: "JAVA", Version: 407, Opaque: 7, Flag: 1,
		ExtFields: map[string]string{"msgId": "7F00000100002A9F0000000000000000", "queueId": "1", "queueOffset": "5"}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("decode java response:\n got %+v\nwant %+v", c, want)
	}
	if !c.IsResponse() {
		t.Fatal("java response: IsResponse false")
	}
	c = decodeWhole(t, frameOf(SerializeJSON, golden(t, "java_heartbeat_request.json"), []byte("{}")))
	if c.Code != 34 || c.Opaque != 9 || c.Language != "JAVA" || c.Remark != "" || len(c.ExtFields) != 0 || string(c.Body) != "{}" {
		t.Fatalf("decode java heartbeat (null extFields, no remark): got %+v", c)
	}
}

func TestEncodeJSONExact(t *testing.T) {
	req := &Command{Code: 105, Opaque: 2}
	resp := req.NewResponse(17, `no route "T"`)
	resp.ExtFields["queueOffset"] = "5"
	f, err := AppendFrame(nil, resp, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := `{"code":17,"language":"GO","version":317,"opaque":2,"flag":1,"remark":"no route \"T\"","extFields":{"queueOffset":"5"}}`
	if got := string(f[8:]); got != wantHeader {
		t.Fatalf("header:\n got %s\nwant %s", got, wantHeader)
	}
	if got := binary.BigEndian.Uint32(f); int(got) != len(f)-4 {
		t.Fatalf("length prefix: got %d, want %d", got, len(f)-4)
	}
	if got := binary.BigEndian.Uint32(f[4:]); got != uint32(len(wantHeader)) {
		t.Fatalf("header word: got %#x, want %#x", got, len(wantHeader))
	}
	// The Go client's own request shape is reproduced byte for byte.
	goReq := NewRequest(105, map[string]string{"topic": "T"}, nil)
	goReq.Opaque = 2
	f, err = AppendFrame(nil, goReq, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(f[8:]), string(golden(t, "go_client_route_request.json")); got != want {
		t.Fatalf("request header:\n got %s\nwant %s", got, want)
	}
}

func TestEncodeJSONCompactStringsInt16(t *testing.T) {
	c := sendRequest(1024)
	c.Code = -32768
	c.Remark = "tab\there\nnewline \u2028 é 日本"
	f, err := AppendFrame(nil, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	hlen := int(binary.BigEndian.Uint32(f[4:]) & 0xFFFFFF)
	h := f[8 : 8+hlen]
	var compact bytes.Buffer
	if err := json.Compact(&compact, h); err != nil {
		t.Fatalf("header is not JSON: %v\n%s", err, h)
	}
	if !bytes.Equal(compact.Bytes(), h) {
		t.Fatalf("header is not compact:\n%s", h)
	}
	var generic map[string]any
	if err := json.Unmarshal(h, &generic); err != nil {
		t.Fatal(err)
	}
	ext, ok := generic["extFields"].(map[string]any)
	if !ok || len(ext) != len(c.ExtFields) {
		t.Fatalf("extFields: got %#v, want %d entries", generic["extFields"], len(c.ExtFields))
	}
	for k, v := range ext {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("extFields[%q] is %T, want string", k, v)
		}
		if s != c.ExtFields[k] {
			t.Fatalf("extFields[%q]: got %q, want %q", k, s, c.ExtFields[k])
		}
	}
	if code, ok := generic["code"].(float64); !ok || code != -32768 {
		t.Fatalf("code: got %#v, want number -32768", generic["code"])
	}
	if generic["remark"] != c.Remark {
		t.Fatalf("remark: got %q, want %q", generic["remark"], c.Remark)
	}
	// And the Go client's struct shape (code int16, extFields map[string]string) reads it.
	var goShape struct {
		Code      int16             `json:"code"`
		Language  string            `json:"language"`
		Version   int16             `json:"version"`
		Opaque    int32             `json:"opaque"`
		Flag      int32             `json:"flag"`
		Remark    string            `json:"remark"`
		ExtFields map[string]string `json:"extFields"`
	}
	if err := json.Unmarshal(h, &goShape); err != nil {
		t.Fatalf("go client shape: %v", err)
	}
	if !maps.Equal(goShape.ExtFields, c.ExtFields) || int32(goShape.Code) != c.Code {
		t.Fatalf("go client shape: got %+v", goShape)
	}
}

// stdlibQuote is encoding/json's string encoding without HTML escaping.
func stdlibQuote(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

var jsonStrings = []string{
	"", "plain", `q"uote`, `back\slash`, "ctl\x00\x01\x1f\x7f", "\b\f\n\r\t", "/slash",
	"é日本語🎉", "\u2028\u2029", "bad\xffutf8\xc3", "\xed\xa0\x80 surrogate bytes",
	"<html>&amp;", strings.Repeat("x", 300) + "\"",
}

func TestJSONStringMatchesStdlib(t *testing.T) {
	for _, s := range jsonStrings {
		got := string(jsonstr.Append(nil, s))
		if want := stdlibQuote(t, s); got != want {
			t.Errorf("quote %q:\n got %s\nwant %s", s, got, want)
		}
		// The decoder reads back what encoding/json reads from the same literal.
		var want string
		if err := json.Unmarshal([]byte(got), &want); err != nil {
			t.Fatal(err)
		}
		sc := jsonScanner{s: got}
		dec, err := sc.str()
		if err != nil || dec != want {
			t.Errorf("unquote %s: got %q, %v; want %q", got, dec, err, want)
		}
	}
}

func TestJSONDecodeEscapes(t *testing.T) {
	cases := []string{
		`"\u00e9\u65e5"`, `"\ud83c\udf89"`, `"\ud83c"`, `"\udf89x"`, `"\ud83c\u0041"`,
		`"a\/b\\c\"d\b\f\n\r\t"`, `"\u0000"`, `"raw é 日"`, "\"bad \xff byte\"", `"\uD83C\uDF89"`,
	}
	for _, lit := range cases {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatalf("stdlib %s: %v", lit, err)
		}
		sc := jsonScanner{s: lit}
		got, err := sc.str()
		if err != nil || got != want {
			t.Errorf("decode %s: got %q, %v; want %q", lit, got, err, want)
		}
		if sc.i != len(lit) {
			t.Errorf("decode %s: stopped at %d of %d", lit, sc.i, len(lit))
		}
	}
}

func TestJSONHeaderLenient(t *testing.T) {
	cases := []struct {
		name, header string
		want         Command
	}{
		{"whitespace", " { \"code\" : 11 ,\n\"extFields\" : { \"a\" : \"1\" } } ",
			Command{Code: 11, ExtFields: map[string]string{"a": "1"}}},
		{"scalars kept as text", `{"extFields":{"n":42,"f":-1.5e3,"t":true,"z":false,"x":null}}`,
			Command{ExtFields: map[string]string{"n": "42", "f": "-1.5e3", "t": "true", "z": "false"}}},
		{"unknown keys skipped", `{"serializeTypeCurrentRPC":"JSON","deep":{"a":[1,{"b":[]},"x",null],"c":{}},"opaque":5}`,
			Command{Opaque: 5}},
		{"null scalars", `{"code":null,"language":null,"remark":null,"opaque":null}`, Command{}},
		{"empty object", `{}`, Command{}},
		{"negative and escaped", `{"opaque":-2147483648,"remark":"\u0041\n"}`, Command{Opaque: -2147483648, Remark: "A\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Command
			if err := decodeJSONHeader([]byte(tc.header), &c, nil); err != nil {
				t.Fatalf("decode %s: %v", tc.header, err)
			}
			if !sameCommand(&c, &tc.want) {
				t.Fatalf("decode %s:\n got %+v\nwant %+v", tc.header, c, tc.want)
			}
		})
	}
}

func TestBinaryHeaderExactAndRoundTrip(t *testing.T) {
	c := &Command{Code: 10, Language: "JAVA", Version: 407, Opaque: 0x01020304, Flag: 2,
		Remark: "r", ExtFields: map[string]string{"k": "vv"}, Body: []byte{0xAB}, Serialize: SerializeRocketMQ}
	f, err := AppendFrame(nil, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	header := []byte{
		0x00, 0x0A, // code
		0x00,       // language JAVA
		0x01, 0x97, // version 407
		0x01, 0x02, 0x03, 0x04, // opaque
		0x00, 0x00, 0x00, 0x02, // flag
		0x00, 0x00, 0x00, 0x01, 'r', // remark
		0x00, 0x00, 0x00, 0x09, // extFields length
		0x00, 0x01, 'k', 0x00, 0x00, 0x00, 0x02, 'v', 'v',
	}
	if want := frameOf(SerializeRocketMQ, header, []byte{0xAB}); !bytes.Equal(f, want) {
		t.Fatalf("binary frame:\n got % x\nwant % x", f, want)
	}
	if got := decodeWhole(t, f); !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
	}
	for i := range languages {
		c := &Command{Language: languages[i], Serialize: SerializeRocketMQ, ExtFields: map[string]string{}}
		f, _ := AppendFrame(nil, c, 0)
		if f[8+2] != byte(i) {
			t.Fatalf("language %s: byte %d, want %d", languages[i], f[10], i)
		}
		if got := decodeWhole(t, f); got.Language != languages[i] {
			t.Fatalf("language byte %d: got %q", i, got.Language)
		}
	}
	if LanguageName(200) != "OTHER" || LanguageCode("COBOL") != 7 || LanguageCode("GO") != 9 || LanguageCode("RUST") != 12 {
		t.Fatal("language fallbacks wrong")
	}
}

func TestResponseKeepsSerialization(t *testing.T) {
	for _, typ := range []byte{SerializeJSON, SerializeRocketMQ} {
		req := &Command{Code: 10, Opaque: 77, Serialize: typ}
		resp := req.NewResponse(0, "")
		if resp.Serialize != typ || resp.Opaque != 77 || !resp.IsResponse() || resp.ExtFields == nil ||
			resp.Language != "GO" || resp.Version != 317 {
			t.Fatalf("NewResponse of type %d: got %+v", typ, resp)
		}
		f, err := AppendFrame(nil, resp, 0)
		if err != nil {
			t.Fatal(err)
		}
		if f[4] != typ {
			t.Fatalf("response frame type: got %d, want %d", f[4], typ)
		}
	}
}

func TestBodyPartsCounted(t *testing.T) {
	c := NewRequest(11, nil, []byte("ab"))
	c.BodyParts = [][]byte{[]byte("cd"), []byte("efg")}
	if c.BodyLen() != 7 {
		t.Fatalf("BodyLen: got %d, want 7", c.BodyLen())
	}
	f, err := AppendFrame(nil, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	whole := append(f, "cdefg"...)
	got := decodeWhole(t, whole)
	if string(got.Body) != "abcdefg" {
		t.Fatalf("body: got %q", got.Body)
	}
	if _, err := AppendFrame(nil, c, 20); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("frame over limit: got %v, want ErrFrameTooLarge", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	goodJSON := golden(t, "go_client_route_request.json")
	binHeader := func(mut func([]byte) []byte) []byte {
		c := &Command{Code: 1, Remark: "xy", ExtFields: map[string]string{"a": "b"}, Serialize: SerializeRocketMQ}
		f, _ := AppendFrame(nil, c, 0)
		h := f[8:]
		return frameOf(SerializeRocketMQ, mut(append([]byte(nil), h...)), nil)
	}
	cases := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"2 GiB length", []byte{0x80, 0, 0, 0, 0, 0, 0, 0}, ErrFrameTooLarge},
		{"length under header word", []byte{0, 0, 0, 3, 0, 0, 0}, ErrBadFrame},
		{"header longer than frame", func() []byte {
			f := frameOf(SerializeJSON, goodJSON, nil)
			binary.BigEndian.PutUint32(f[4:], uint32(len(goodJSON)+1))
			return f
		}(), ErrBadFrame},
		{"serialize type 7", frameOf(7, goodJSON, nil), ErrBadFrame},
		{"invalid json", frameOf(SerializeJSON, []byte(`{"code":105,`), nil), ErrBadFrame},
		{"json not an object", frameOf(SerializeJSON, []byte(`[1]`), nil), ErrBadFrame},
		{"json trailing bytes", frameOf(SerializeJSON, []byte(`{}x`), nil), ErrBadFrame},
		{"json code over int32", frameOf(SerializeJSON, []byte(`{"code":2147483648}`), nil), ErrBadFrame},
		{"json opaque fraction", frameOf(SerializeJSON, []byte(`{"opaque":1.5}`), nil), ErrBadFrame},
		{"json ext object value", frameOf(SerializeJSON, []byte(`{"extFields":{"a":{}}}`), nil), ErrBadFrame},
		{"json ext array", frameOf(SerializeJSON, []byte(`{"extFields":[]}`), nil), ErrBadFrame},
		{"json raw control char", frameOf(SerializeJSON, []byte("{\"remark\":\"a\x01\"}"), nil), ErrBadFrame},
		{"json bad escape", frameOf(SerializeJSON, []byte(`{"remark":"\x"}`), nil), ErrBadFrame},
		{"json deep nesting", frameOf(SerializeJSON, []byte(`{"x":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`), nil), ErrBadFrame},
		{"json unbalanced skip", frameOf(SerializeJSON, []byte(`{"x":[1,2}`), nil), ErrBadFrame},
		{"empty json header", frameOf(SerializeJSON, nil, []byte("body")), ErrBadFrame},
		{"truncated binary header", frameOf(SerializeRocketMQ, []byte{0, 10, 9, 1, 61, 0, 0}, nil), ErrBadFrame},
		{"binary remark length negative", binHeader(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[13:], 0xFFFFFFFF)
			return h
		}), ErrBadFrame},
		{"binary remark length past end", binHeader(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[13:], 1000)
			return h
		}), ErrBadFrame},
		{"binary ext length past end", binHeader(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[19:], 1000)
			return h
		}), ErrBadFrame},
		{"binary ext key length past entry", binHeader(func(h []byte) []byte {
			binary.BigEndian.PutUint16(h[23:], 50)
			return h
		}), ErrBadFrame},
		{"binary trailing bytes", binHeader(func(h []byte) []byte { return append(h, 0) }), ErrBadFrame},
		{"binary cut in entry", binHeader(func(h []byte) []byte {
			binary.BigEndian.PutUint32(h[19:], 3)
			return h[:26]
		}), ErrBadFrame},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n, err := FrameLength(tc.frame, 0)
			if err == nil {
				if n > len(tc.frame)-4 {
					n = len(tc.frame) - 4
				}
				_, err = DecodeFrame(tc.frame[4 : 4+n])
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := FrameLength([]byte{0, 1}, 0); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("short prefix: got %v", err)
	}
	if n, err := FrameLength([]byte{0, 0, 1, 0}, 255); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("configured limit: got %d, %v", n, err)
	}
}

// sendRequest builds a SEND_MESSAGE request shaped like the Go client's, with a body of
// n bytes.
func sendRequest(n int) *Command {
	ext := map[string]string{
		"producerGroup":         "please_rename_unique_group_name",
		"topic":                 "TopicTest",
		"queueId":               "3",
		"sysFlag":               "0",
		"bornTimestamp":         "1726731935123",
		"flag":                  "0",
		"reconsumeTimes":        "0",
		"unitMode":              "false",
		"maxReconsumeTimes":     "0",
		"defaultTopic":          "TBW102",
		"defaultTopicQueueNums": "4",
		"batch":                 "false",
		"properties":            "KEYS\x01order-42\x02TAGS\x01TagA\x02UNIQ_KEY\x01C0A8000100002A9F0000000000000001\x02WAIT\x01true\x02",
	}
	c := NewRequest(10, ext, bytes.Repeat([]byte{'m'}, n))
	c.Opaque = 12345
	return c
}

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/")

// goldenCommands are encoded and compared with testdata/*.frame.hex. Each has at most
// one extFields entry so that the map order cannot change the bytes.
func goldenCommands() map[string]*Command {
	route := NewRequest(105, map[string]string{"topic": "TopicTest"}, nil)
	route.Opaque = 2
	sendResp := (&Command{Code: 10, Opaque: 7}).NewResponse(0, "")
	sendResp.ExtFields["queueOffset"] = "5"
	errResp := (&Command{Code: 10, Opaque: 8, Serialize: SerializeRocketMQ}).NewResponse(17, "topic[T] not exist")
	errResp.ExtFields["MSG_REGION"] = "DefaultRegion"
	pull := (&Command{Code: 11, Opaque: 9}).NewResponse(19, "")
	pull.ExtFields["nextBeginOffset"] = "42"
	pull.Body = []byte{0xDA, 0xA3, 0x20, 0xA7}
	return map[string]*Command{
		"route_request_json":      route,
		"send_response_json":      sendResp,
		"error_response_binary":   errResp,
		"pull_response_with_body": pull,
	}
}

func TestGoldenFrames(t *testing.T) {
	for name, c := range goldenCommands() {
		t.Run(name, func(t *testing.T) {
			got, err := AppendFrame(nil, c, 0)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", name+".frame.hex")
			if *update {
				if err := os.WriteFile(path, []byte(hex.Dump(got)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if string(want) != hex.Dump(got) {
				t.Fatalf("frame differs from %s:\n got\n%s\nwant\n%s", path, hex.Dump(got), want)
			}
			if d := decodeWhole(t, got); !sameCommand(d, c) {
				t.Fatalf("golden frame decodes to %+v, want %+v", d, c)
			}
		})
	}
}

// fuzzFrameLimit lets re-encoding grow a header (JSON escaping can expand it) without
// hitting the production limit; the property is about values, not sizes.
const fuzzFrameLimit = 1 << 30

// seedFrames returns whole frames (prefix included) for the fuzz corpora: the golden
// headers, both serializations, with and without bodies.
func seedFrames(f *testing.F) [][]byte {
	f.Helper()
	var out [][]byte
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		h, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, frameOf(SerializeJSON, h, nil), frameOf(SerializeJSON, h, []byte("body")))
	}
	for _, c := range []*Command{
		sendRequest(64),
		{Code: 10, Language: "JAVA", Version: 407, Opaque: 1 << 20, Flag: 3, Remark: "ré\"mark\n",
			ExtFields: map[string]string{"a": "1", "": "", "k\u2028": "\xff"}, Body: []byte{0, 1, 2}},
		NewRequest(105, map[string]string{"topic": "T"}, nil).NewResponse(17, "no route"),
	} {
		for _, typ := range []byte{SerializeJSON, SerializeRocketMQ} {
			c.Serialize = typ
			b, err := AppendFrame(nil, c, 0)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// sameCommand compares decoded commands, treating nil and empty maps and bodies alike.
func sameCommand(a, b *Command) bool {
	return a.Code == b.Code && a.Language == b.Language && a.Version == b.Version &&
		a.Opaque == b.Opaque && a.Flag == b.Flag && a.Remark == b.Remark &&
		a.Serialize == b.Serialize && bytes.Equal(a.Body, b.Body) && maps.Equal(a.ExtFields, b.ExtFields)
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range seedFrames(f) {
		f.Add(s)
	}
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 4, 7, 0, 0, 0})
	if pop, err := AppendFrame(nil, &Command{Code: 200050, ExtFields: map[string]string{"topic": "t"}}, 0); err == nil {
		f.Add(pop) // a 5.x POP_MESSAGE: a code beyond int16
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := FrameLength(data, 0)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("FrameLength error not a package error: %v", err)
			}
			return
		}
		if n > len(data)-4 {
			n = len(data) - 4 // a short read: decode what is there
		}
		c, err := DecodeFrame(data[4 : 4+n])
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("DecodeFrame error not ErrBadFrame: %v", err)
			}
			return
		}
		enc, err := AppendFrame(nil, c, fuzzFrameLimit)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", c, err)
		}
		n2, err := FrameLength(enc, fuzzFrameLimit)
		if err != nil || n2 != len(enc)-4 {
			t.Fatalf("re-encoded length: %d, %v (frame %d bytes)", n2, err, len(enc))
		}
		c2, err := DecodeFrame(enc[4:])
		if err != nil {
			t.Fatalf("decode re-encoded frame: %v\n%q", err, enc)
		}
		if !sameCommand(c, c2) {
			t.Fatalf("round trip differs:\n first %+v\nsecond %+v", c, c2)
		}
	})
}

// headerOf returns the header bytes of a whole frame.
func headerOf(frame []byte) []byte {
	hlen := int(uint32(frame[5])<<16 | uint32(frame[6])<<8 | uint32(frame[7]))
	return frame[8 : 8+hlen]
}

func FuzzJSONHeader(f *testing.F) {
	for _, s := range seedFrames(f) {
		if s[4] == SerializeJSON {
			f.Add(headerOf(s))
		}
	}
	for _, s := range []string{
		`{"extFields":{"n":42,"f":-1.5e3,"t":true,"x":null}}`,
		`{"x":[{"a":[]},{}],"remark":"\ud83c\udf89\ud83c"}`,
		`{"code":-32768,"opaque":2147483647,"flag":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, h []byte) {
		var c Command
		if err := decodeJSONHeader(h, &c, nil); err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("error not ErrBadFrame: %v", err)
			}
			return
		}
		// Whatever we accept is JSON.
		if !json.Valid(h) {
			t.Fatalf("accepted invalid JSON: %q", h)
		}
		enc := appendJSONHeader(nil, &c)
		if !json.Valid(enc) {
			t.Fatalf("encoded invalid JSON: %q", enc)
		}
		var c2 Command
		if err := decodeJSONHeader(enc, &c2, nil); err != nil {
			t.Fatalf("decode re-encoded header %q: %v", enc, err)
		}
		if !sameCommand(&c, &c2) {
			t.Fatalf("round trip differs:\n first %+v\nsecond %+v\n%s", c, c2, enc)
		}
		// encoding/json reads our output to the same values (the Go client's view).
		var std struct {
			Code      int32             `json:"code"`
			Language  string            `json:"language"`
			Version   int32             `json:"version"`
			Opaque    int32             `json:"opaque"`
			Flag      int32             `json:"flag"`
			Remark    string            `json:"remark"`
			ExtFields map[string]string `json:"extFields"`
		}
		if err := json.Unmarshal(enc, &std); err != nil {
			t.Fatalf("encoding/json rejects our header %q: %v", enc, err)
		}
		if std.Code != c.Code || std.Language != c.Language || std.Version != c.Version || std.Opaque != c.Opaque ||
			std.Flag != c.Flag || std.Remark != c.Remark || !maps.Equal(std.ExtFields, c.ExtFields) {
			t.Fatalf("encoding/json reads %+v, we read %+v", std, c)
		}
	})
}

func FuzzRocketMQHeader(f *testing.F) {
	for _, s := range seedFrames(f) {
		if s[4] == SerializeRocketMQ {
			f.Add(headerOf(s))
		}
	}
	f.Add(make([]byte, rmqFixedBytes))
	f.Fuzz(func(t *testing.T, h []byte) {
		var c Command
		if err := decodeRocketMQHeader(h, &c, nil, nil); err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("error not ErrBadFrame: %v", err)
			}
			return
		}
		c.Serialize = SerializeRocketMQ
		enc, err := appendRocketMQHeader(nil, &c)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", c, err)
		}
		if len(enc) > len(h) {
			t.Fatalf("re-encoded header grew: %d > %d bytes", len(enc), len(h))
		}
		var c2 Command
		if err := decodeRocketMQHeader(enc, &c2, nil, nil); err != nil {
			t.Fatalf("decode re-encoded header: %v", err)
		}
		c2.Serialize = SerializeRocketMQ
		if !sameCommand(&c, &c2) {
			t.Fatalf("round trip differs:\n first %+v\nsecond %+v", c, c2)
		}
	})
}

// TestCodeBeyondInt16 checks the 5.x request codes (POP_MESSAGE is 200050) survive a
// round trip: JSON carries them as they are, and a command asked to go out with the
// 16-bit ROCKETMQ header is written as JSON instead of being truncated.
func TestCodeBeyondInt16(t *testing.T) {
	for _, ser := range []byte{SerializeJSON, SerializeRocketMQ} {
		in := &Command{Code: 200050, Opaque: 9, Serialize: ser, ExtFields: map[string]string{"consumerGroup": "g"}}
		f, err := AppendFrame(nil, in, 0)
		if err != nil {
			t.Fatalf("serialize %d: %v", ser, err)
		}
		out, err := DecodeFrame(f[LengthPrefixBytes:])
		if err != nil {
			t.Fatalf("serialize %d: decode: %v", ser, err)
		}
		if out.Code != 200050 || out.Serialize != SerializeJSON || out.ExtFields["consumerGroup"] != "g" {
			t.Fatalf("serialize %d: got code %d serialize %d ext %v", ser, out.Code, out.Serialize, out.ExtFields)
		}
	}
}
