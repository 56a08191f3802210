package fakegithub

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// field is one member of a JSON object. Repository objects are kept as ordered fields so that
// replayed items keep GitHub's field order and values byte for byte, and synthetic items go
// through the same code.
type field struct {
	key string
	val json.RawMessage
}

// splitObject cuts a JSON object into its members without decoding the values. It is only
// given objects this package wrote or compacted (and so validated), and checks just the
// structure.
func splitObject(raw []byte) ([]field, error) {
	bad := errors.New("not a JSON object")
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, bad
	}
	fs := make([]field, 0, 96)
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return fs, nil
	}
	for {
		end := skipValue(raw, i)
		if end < 0 || raw[i] != '"' {
			return nil, bad
		}
		key := string(raw[i+1 : end-1])
		if bytes.IndexByte(raw[i:end], '\\') >= 0 {
			if err := json.Unmarshal(raw[i:end], &key); err != nil {
				return nil, err
			}
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return nil, bad
		}
		i = skipSpace(raw, i+1)
		end = skipValue(raw, i)
		if end < 0 {
			return nil, bad
		}
		fs = append(fs, field{key, raw[i:end]})
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return nil, bad
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return fs, nil
		default:
			return nil, bad
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns where the JSON value starting at i ends, or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipValue(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	// A number, true, false or null.
	if !strings.ContainsRune("-0123456789tfn", rune(b[i])) {
		return -1
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[j])) {
		j++
	}
	return j
}

func joinObject(fs []field) []byte {
	size := 2
	for _, f := range fs {
		size += len(f.key) + len(f.val) + 4
	}
	w := objWriter{b: make([]byte, 0, size)}
	w.open()
	for _, f := range fs {
		w.raw(f.key, f.val)
	}
	return w.close()
}

func lookupField(fs []field, key string) (json.RawMessage, bool) {
	for _, f := range fs {
		if f.key == key {
			return f.val, true
		}
	}
	return nil, false
}

// objWriter appends a JSON object member by member, in the order GitHub sends them.
type objWriter struct {
	b     []byte
	first bool
}

func (w *objWriter) open() { w.b = append(w.b, '{'); w.first = true }

func (w *objWriter) close() []byte { return append(w.b, '}') }

func (w *objWriter) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = appendString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *objWriter) str(k, v string) { w.key(k); w.b = appendString(w.b, v) }

func (w *objWriter) strOrNull(k string, v *string) {
	if v == nil {
		w.null(k)
		return
	}
	w.str(k, *v)
}

func (w *objWriter) int(k string, v int64) { w.key(k); w.b = strconv.AppendInt(w.b, v, 10) }

func (w *objWriter) bool(k string, v bool) { w.key(k); w.b = strconv.AppendBool(w.b, v) }

func (w *objWriter) null(k string) { w.key(k); w.b = append(w.b, "null"...) }

func (w *objWriter) raw(k string, v []byte) { w.key(k); w.b = append(w.b, v...) }

func (w *objWriter) strings(k string, vs []string) {
	w.key(k)
	w.b = append(w.b, '[')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, v)
	}
	w.b = append(w.b, ']')
}

// appendString writes s as a JSON string the way GitHub does: UTF-8 kept as is, only what JSON
// requires escaped.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			b = append(b, c)
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return append(b, '"')
}
