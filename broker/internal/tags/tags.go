// Package tags turns a subscription's TAG expression into the filter a pull applies to
// the tags codes of consume-queue units.
package tags

import (
	"slices"
	"strings"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/message"
)

// Parse parses a TAG expression ("*", "", or "a || b") into its tags; nil means
// every message (FilterAPI.buildSubscriptionData).
func Parse(expr string) []string {
	expr = strings.TrimSpace(expr)
	if expr == "" || expr == body.SubAll {
		return nil
	}
	var tags []string
	for _, t := range strings.Split(expr, "||") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// OfSubscription returns the tags of a heartbeat subscription; nil means every message.
func OfSubscription(sd *body.SubscriptionData) []string {
	if s := strings.TrimSpace(sd.SubString); s == "" || s == body.SubAll {
		return nil
	}
	if len(sd.TagsSet) == 0 {
		return Parse(sd.SubString)
	}
	tags := make([]string, 0, len(sd.TagsSet))
	for _, t := range sd.TagsSet {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// Matcher returns a filter accepting units whose tags code is the hash of one of tags;
// nil tags accept everything. A message without tags has code 0 and passes a tag filter
// only by a hash collision, as in Java.
func Matcher(tags []string) func(int64) bool {
	if len(tags) == 0 {
		return nil
	}
	codes := make([]int64, 0, len(tags))
	for _, t := range tags {
		codes = append(codes, message.TagsHash(t))
	}
	if len(codes) == 1 {
		c := codes[0]
		return func(tc int64) bool { return tc == c }
	}
	return func(tc int64) bool { return slices.Contains(codes, tc) }
}
