package acl

import "testing"

// The expected values were computed outside Go, over the exact concatenation
// AclUtils.combineRequestContent builds (extField values by key, then the body):
//
//	printf 'RocketMQ0TopicTesthello' | openssl dgst -sha1 -hmac 12345678 -binary | base64
func TestSignVectors(t *testing.T) {
	cases := []struct {
		name   string
		ext    map[string]string
		body   []byte
		secret string
		want   string
	}{
		{"send with body", map[string]string{"topic": "TopicTest", "queueId": "0", "AccessKey": "RocketMQ", "Signature": "stale"},
			[]byte("hello"), "12345678", "/u+oQUi9gv7W/z1uifpc34q6njk="},
		{"no body", map[string]string{"AccessKey": "rocketmq2"}, nil, "secret", "XpXO4MBMBUbskbXaZuYF2ynjHwQ="},
		{"unique-key flag unsigned", map[string]string{"AccessKey": "AK-1", "a": "BlueGroup", "b": "APID", "c": "topic-b",
			"_UNIQUE_KEY_QUERY": "true", "Signature": "x"}, []byte(`{"x":1}`), "sk", "BOBc7CuwCZ006OklPLUmz1z0aSw="},
	}
	for _, c := range cases {
		if got := Sign(c.ext, c.body, c.secret); got != c.want {
			t.Errorf("%s: Sign = %s, want %s", c.name, got, c.want)
		}
		if !Verify(c.ext, c.body, c.secret, c.want) {
			t.Errorf("%s: Verify refused the right signature", c.name)
		}
		if Verify(c.ext, c.body, c.secret+"x", c.want) || Verify(c.ext, c.body, c.secret, c.want[:len(c.want)-2]) {
			t.Errorf("%s: Verify admitted a wrong secret or a truncated signature", c.name)
		}
	}
}

func TestSignManyFields(t *testing.T) {
	ext := map[string]string{}
	for i := range 40 {
		ext[string(rune('A'+i))] = "v"
	}
	if Sign(ext, nil, "k") != Sign(ext, nil, "k") {
		t.Fatal("signature not deterministic beyond the stack buffer")
	}
}
