package envflag

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Reader reads variables, keeping the first that did not parse. Prefix
// begins its errors: the part of the program whose variable it is.
type Reader struct {
	Prefix string
	err    error
}

// Err returns the first error, naming the variable and its value.
func (r *Reader) Err() error { return r.err }

// String returns the variable name, or def when it is not set. Set and
// empty is kept: for some settings (an address to serve on) empty means
// none.
func (r *Reader) String(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// Get returns the variable name as parse reads it, or def when it is
// unset or empty, or does not parse.
func Get[T any](r *Reader, name string, def T, parse func(string) (T, error)) T {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		if r.err == nil {
			r.err = fmt.Errorf("%s: environment variable %s=%q: %v", r.Prefix, name, v, err)
		}
		return def
	}
	return x
}

func (r *Reader) Int(name string, def int) int { return Get(r, name, def, strconv.Atoi) }

func (r *Reader) Bool(name string, def bool) bool { return Get(r, name, def, strconv.ParseBool) }

func (r *Reader) Duration(name string, def time.Duration) time.Duration {
	return Get(r, name, def, time.ParseDuration)
}

func (r *Reader) Float(name string, def float64) float64 {
	return Get(r, name, def, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
}
