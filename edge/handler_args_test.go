package edge

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestWithoutArg checks that withoutArg leaves out the parameter, keeps
// the others in order, and stops when the loop over it does: a range
// loop that breaks would panic if yield were called again.
func TestWithoutArg(t *testing.T) {
	var args fasthttp.Args
	args.Parse("a=1&snapshot=x&b=2&snapshot=y&c=3")
	var got []string
	for k, v := range withoutArg(&args, "snapshot") {
		got = append(got, string(k)+"="+string(v))
	}
	if want := "a=1 b=2 c=3"; strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %s", got, want)
	}
	for _, stop := range []int{1, 2} {
		n := 0
		for range withoutArg(&args, "snapshot") {
			if n++; n == stop {
				break
			}
		}
		if n != stop {
			t.Fatalf("stopping after %d: %d pairs seen", stop, n)
		}
	}
}
