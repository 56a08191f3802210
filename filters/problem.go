package filters

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// ProblemContentType is the media type of Problem.JSON (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem document. Its type is always
// "about:blank": the status says what went wrong and, for a 400, errors
// says where, so a problem-specific URI would add nothing a client needs.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []ParamError `json:"errors,omitempty"`
}

// ParamError is one invalid parameter of a query. Value is what the client
// sent: the whole value, or the offending item of a list.
type ParamError struct {
	Parameter string `json:"parameter"`
	Value     string `json:"value"`
	Message   string `json:"message"`
}

// NewProblem returns a problem with no parameter errors, for the statuses
// the edge answers itself (404, 405, 429, ...). With type about:blank the
// title should be the status phrase, e.g. "Not Found".
func NewProblem(status int, title, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: title, Status: status, Detail: detail}
}

// invalidQuery is the 400 for a query with errs, all of them, so a client
// can fix its query in one round trip.
func invalidQuery(errs []ParamError) *Problem {
	detail := errs[0].Parameter + ": " + errs[0].Message
	if len(errs) > 1 {
		detail += " (and " + strconv.Itoa(len(errs)-1) + " more; see errors)"
	}
	p := NewProblem(400, "Bad Request", detail)
	p.Errors = errs
	return p
}

// JSON returns the problem document. The encoding is deterministic and does
// not escape HTML, like the snapshots the edge serves.
func (p *Problem) JSON() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		// Only strings and an int: encoding cannot fail.
		panic("filters: encoding a Problem: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Error makes a Problem usable as an error.
func (p *Problem) Error() string {
	if p.Detail == "" {
		return strconv.Itoa(p.Status) + " " + p.Title
	}
	return strconv.Itoa(p.Status) + " " + p.Title + ": " + p.Detail
}
