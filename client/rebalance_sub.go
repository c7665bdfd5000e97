package client

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/message"
)

// subscription is one topic a consumer reads, with its parsed tag expression.
type subscription struct {
	topic   string   // as the broker knows it (namespace-wrapped)
	expr    string   // the user's expression, "*" for all
	tags    []string // trimmed tags, sorted and unique; nil means every message
	version int64    // subVersion: set when the subscription is made
}

// maxSubscriptionTags bounds the tags of one expression; the broker refuses more
// (body.MaxTagsPerSub) and nobody needs them.
const maxSubscriptionTags = 1024

// parseSelector checks a selector and returns its subscription of topic. "*" and ""
// select everything; otherwise the expression is tags separated by "||", each trimmed
// and non-empty. SQL92 is rejected with ErrNotSupported.
func parseSelector(topic string, sel MessageSelector, version int64) (*subscription, error) {
	switch sel.Type {
	case "", ExpressionTag:
	case ExpressionSQL92:
		return nil, fmt.Errorf("subscribe %s: SQL92 selectors: %w", topic, ErrNotSupported)
	default:
		return nil, invalidOption("subscribe %s: expression type %q", topic, sel.Type)
	}
	s := &subscription{topic: topic, expr: strings.TrimSpace(sel.Expression), version: version}
	if s.expr == "" || s.expr == body.SubAll {
		s.expr = body.SubAll
		return s, nil
	}
	for _, t := range strings.Split(s.expr, "||") {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, invalidOption("subscribe %s: empty tag in %q", topic, sel.Expression)
		}
		if t == body.SubAll {
			// "a || *" means everything, as the brokers read it.
			s.tags = nil
			s.expr = body.SubAll
			return s, nil
		}
		s.tags = append(s.tags, t)
	}
	slices.Sort(s.tags)
	s.tags = slices.Compact(s.tags)
	if len(s.tags) > maxSubscriptionTags {
		return nil, invalidOption("subscribe %s: %d tags, at most %d", topic, len(s.tags), maxSubscriptionTags)
	}
	return s, nil
}

// matches reports whether a message with tags passes the subscription: the exact
// re-check of the TAGS string after the broker's hash filter, which lets hash
// collisions through.
func (s *subscription) matches(tags string) bool {
	if s.tags == nil {
		return true
	}
	_, ok := slices.BinarySearch(s.tags, tags)
	return ok
}

// data returns the subscription as HEART_BEAT carries it. Codes are the tag hashes a
// Java broker compares with its ConsumeQueue tag codes (String.hashCode, PROTOCOL.md
// §4.4), written as strings as the Go client writes them.
func (s *subscription) data() body.SubscriptionData {
	d := body.SubscriptionData{
		Topic:          s.topic,
		SubString:      s.expr,
		TagsSet:        slices.Clone(s.tags),
		CodeSet:        make(body.CodeSet, 0, len(s.tags)),
		SubVersion:     s.version,
		ExpressionType: body.ExpressionTag,
	}
	if d.TagsSet == nil {
		d.TagsSet = []string{}
	}
	for _, t := range s.tags {
		d.CodeSet = append(d.CodeSet, strconv.FormatInt(int64(int32(message.TagsHash(t))), 10))
	}
	return d
}

// isRetryTopic reports whether topic is a group's retry topic.
func isRetryTopic(topic string) bool { return strings.HasPrefix(topic, RetryTopicPrefix) }
