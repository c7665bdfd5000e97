package sqlread

import (
	"errors"
	"testing"
)

func TestCacheKeepsExpressionsAndRefusals(t *testing.T) {
	var c Cache
	refusals := 0
	refuse := func(err error) error { refusals++; return errors.New("refused: " + err.Error()) }
	e1, err := c.Compile("a = 1", refuse)
	if err != nil || e1 == nil {
		t.Fatalf("Compile(a = 1) = %v, %v", e1, err)
	}
	if e2, _ := c.Compile("a = 1", refuse); e2 != e1 {
		t.Fatal("a second compile of the same text must return the cached expression")
	}
	_, err1 := c.Compile("a = ", refuse)
	_, err2 := c.Compile("a = ", refuse)
	if err1 == nil || err1 != err2 || refusals != 1 {
		t.Fatalf("bad expression: errors %v / %v, refuse called %d times; want one cached refusal", err1, err2, refusals)
	}
}
