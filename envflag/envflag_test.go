package envflag

import (
	"strings"
	"testing"
	"time"
)

func TestReader(t *testing.T) {
	t.Setenv("ENVFLAG_TEST_INT", "7")
	t.Setenv("ENVFLAG_TEST_DUR", "90") // no unit: refused
	t.Setenv("ENVFLAG_TEST_BOOL", "yes")
	t.Setenv("ENVFLAG_TEST_EMPTY", "")
	t.Setenv("ENVFLAG_TEST_FLOAT", "2.5")
	r := Reader{Prefix: "test"}
	if got := r.Int("ENVFLAG_TEST_INT", 1); got != 7 {
		t.Errorf("Int = %d, want 7", got)
	}
	if got := r.Int("ENVFLAG_TEST_UNSET", 1); got != 1 {
		t.Errorf("Int of an unset variable = %d, want its default", got)
	}
	if got := r.Int("ENVFLAG_TEST_EMPTY", 1); got != 1 {
		t.Errorf("Int of an empty variable = %d, want its default", got)
	}
	if got := r.Float("ENVFLAG_TEST_FLOAT", 1); got != 2.5 {
		t.Errorf("Float = %v, want 2.5", got)
	}
	if r.Err() != nil {
		t.Fatalf("Err = %v before any bad variable", r.Err())
	}
	if got := r.Duration("ENVFLAG_TEST_DUR", time.Second); got != time.Second {
		t.Errorf("Duration of a bad variable = %v, want its default", got)
	}
	if got := r.Bool("ENVFLAG_TEST_BOOL", false); got {
		t.Errorf("Bool of a bad variable = %v, want its default", got)
	}
	// The first bad variable is the one reported.
	if err := r.Err(); err == nil || !strings.HasPrefix(err.Error(), "test: environment variable ENVFLAG_TEST_DUR=\"90\": ") {
		t.Errorf("Err = %v", err)
	}
	if got := r.String("ENVFLAG_TEST_EMPTY", "x"); got != "" {
		t.Errorf("String of a set, empty variable = %q, want it empty", got)
	}
	if got := r.String("ENVFLAG_TEST_UNSET", "x"); got != "x" {
		t.Errorf("String of an unset variable = %q, want its default", got)
	}
}
