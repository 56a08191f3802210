package edge

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/freshrepos/freshrepos/filters"
)

// appendStats appends the JSON object of st, byte for byte what marshal
// (encoding/json without HTML escaping) gives, but without reflection or
// an intermediate buffer: an uncached /stats answer spent a fifth of its
// time in encoding/json. It leaves the object open (no closing brace), so
// that the caller can add members. A test compares the two encoders.
func appendStats(b []byte, st *filters.Stats) ([]byte, error) {
	var err error
	b = append(b, `{"repositories":`...)
	b = strconv.AppendInt(b, int64(st.Repositories), 10)
	b = append(b, `,"total_bytes":`...)
	b = strconv.AppendInt(b, st.TotalBytes, 10)
	b = append(b, `,"languages":`...)
	b = appendMap(b, st.Languages, func(b []byte, l filters.LanguageStats) []byte {
		b = append(b, `{"name":`...)
		b = appendJSONString(b, l.Name)
		b = append(b, `,"repositories":`...)
		b = strconv.AppendInt(b, int64(l.Repositories), 10)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, l.Bytes, 10)
		b = append(b, `,"share":`...)
		b, err = appendJSONFloat(b, l.Share, err)
		b = append(b, `,"primary":`...)
		b = strconv.AppendInt(b, int64(l.Primary), 10)
		b = append(b, `,"avg_forks":`...)
		b, err = appendJSONFloat(b, l.AvgForks, err)
		b = append(b, `,"avg_open_issues":`...)
		b, err = appendJSONFloat(b, l.AvgOpenIssues, err)
		b = append(b, `,"avg_size":`...)
		b, err = appendJSONFloat(b, l.AvgSize, err)
		return append(b, '}')
	})
	b = append(b, `,"licenses":`...)
	b = appendMap(b, st.Licenses, func(b []byte, l filters.LicenseStats) []byte {
		b = append(b, `{"name":`...)
		b = appendJSONString(b, l.Name)
		b = append(b, `,"repositories":`...)
		b = strconv.AppendInt(b, int64(l.Repositories), 10)
		return append(b, '}')
	})
	b = append(b, `,"topics":`...)
	if st.Topics == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, t := range st.Topics {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"topic":`...)
			b = appendJSONString(b, t.Topic)
			b = append(b, `,"repositories":`...)
			b = strconv.AppendInt(b, int64(t.Repositories), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if s := st.Selected; s != nil {
		b = append(b, `,"selected":{"name":`...)
		b = appendJSONString(b, s.Name)
		b = append(b, `,"repositories":`...)
		b = strconv.AppendInt(b, int64(s.Repositories), 10)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, s.Bytes, 10)
		b = append(b, `,"share_of_bytes":`...)
		b, err = appendJSONFloat(b, s.ShareOfBytes, err)
		b = append(b, `,"average_bytes":`...)
		b, err = appendJSONFloat(b, s.AverageBytes, err)
		b = append(b, `,"median_bytes":`...)
		b, err = appendJSONFloat(b, s.MedianBytes, err)
		b = append(b, `,"max_bytes":`...)
		b = strconv.AppendInt(b, s.MaxBytes, 10)
		b = append(b, `,"primary":`...)
		b = strconv.AppendInt(b, int64(s.Primary), 10)
		b = append(b, `,"co_languages":`...)
		b = appendMap(b, s.CoLanguages, func(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) })
		b = append(b, '}')
	}
	return b, err
}

// appendMap appends m as encoding/json writes a map: null when nil, else
// an object in key order, each value appended by value.
func appendMap[V any](b []byte, m map[string]V, value func([]byte, V) []byte) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = value(b, m[k])
	}
	return append(b, '}')
}

// sortedKeys are m's keys in the order encoding/json writes them.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var errNotFinite = errors.New("edge: statistics: a number is not finite")

// appendJSONFloat appends f as encoding/json does: like %g, but with the
// exponent cut-offs of ES6 and no exponent padding. Like encoding/json it
// refuses NaN and the infinities (err, unless err is already set).
func appendJSONFloat(b []byte, f float64, err error) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		if err == nil {
			err = errNotFinite
		}
		return append(b, '0'), err
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, err
}

// appendJSONString appends s quoted as encoding/json quotes it without
// HTML escaping: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
