//go:build !unix

package edge

import "net"

// edgeTriggered returns ln as it is: the reads conn saves are a Unix
// matter (see conn.go).
func edgeTriggered(ln net.Listener) net.Listener { return ln }
