package header

import (
	"strconv"
	"testing"
)

// decimalSeeds are the edges of parseShortDecimal: signs, widths, 18 and 19 digits,
// leading zeros and what strconv rejects.
var decimalSeeds = []string{
	"0", "7", "-7", "+7", "-0", "007", "2147483647", "2147483648", "-2147483648",
	"-2147483649", "999999999999999999", "-999999999999999999", "9223372036854775807",
	"9223372036854775808", "-9223372036854775808", "", "-", "+", "1_000", "0x10", " 1",
	"1 ", "1e3", "１", "--1", "+-1",
}

// checkDecimal holds parseShortDecimal and the reader against strconv.ParseInt: where
// the fast path answers it gives strconv's value, and the reader accepts and rejects
// exactly what strconv does.
func checkDecimal(t *testing.T, v string) {
	t.Helper()
	for _, bits := range []int{32, 64} {
		want, werr := strconv.ParseInt(v, 10, bits)
		if got, ok := parseShortDecimal(v, bits); ok && (werr != nil || got != want) {
			t.Fatalf("parseShortDecimal(%q, %d) = %d, strconv gives %d, %v", v, bits, got, want, werr)
		}
		r := reader{ext: map[string]string{"k": v}}
		got := r.parseInt("k", true, bits)
		if (r.err == nil) != (werr == nil) || (werr == nil && got != want) {
			t.Fatalf("reader.parseInt(%q, %d) = %d, %v; strconv gives %d, %v", v, bits, got, r.err, want, werr)
		}
	}
}

func TestParseShortDecimal(t *testing.T) {
	for _, v := range decimalSeeds {
		checkDecimal(t, v)
	}
	for _, c := range []struct {
		v    string
		bits int
		ok   bool
	}{{"123456789012345678", 64, true}, {"1234567890123456789", 64, false}, {"2147483648", 32, false}, {"x", 64, false}} {
		if _, ok := parseShortDecimal(c.v, c.bits); ok != c.ok {
			t.Fatalf("parseShortDecimal(%q, %d) answered %v, want %v", c.v, c.bits, ok, c.ok)
		}
	}
}

func FuzzParseShortDecimal(f *testing.F) {
	for _, v := range decimalSeeds {
		f.Add(v)
	}
	f.Fuzz(checkDecimal)
}
