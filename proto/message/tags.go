package message

import "unicode/utf8"

// TagsHash returns the tagsCode the broker stores in the ConsumeQueue for a TAGS value:
// Java's String.hashCode computed over the UTF-16 code units of tags (a character outside
// the BMP counts as its surrogate pair), with int32 overflow, sign-extended to int64. It
// is 0 for "". Invalid UTF-8 bytes count as U+FFFD each, as a Java decoder replaces them.
//
// The Go client hashes UTF-8 bytes instead, which agrees only for ASCII tags (§4.4), so
// the broker must always recompute the code from the tag strings.
func TagsHash(tags string) int64 {
	var h int32
	for _, r := range tags {
		if r >= 0x10000 && r <= utf8.MaxRune {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10)&0x3FF)
			h = 31*h + int32(0xDC00+r&0x3FF)
			continue
		}
		h = 31*h + r
	}
	return int64(h)
}
