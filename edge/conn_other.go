//go:build !unix

package edge

import (
	"net"

	"github.com/valyala/fasthttp"
)

// edgeTriggered returns ln as it is, and leaves hs's timeouts to fasthttp:
// the reads conn saves are a Unix matter (see conn.go).
func edgeTriggered(ln net.Listener, hs *fasthttp.Server) net.Listener { return ln }
