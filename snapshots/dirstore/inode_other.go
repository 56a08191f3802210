//go:build !unix

package dirstore

import "os"

// inode is 0 where os.FileInfo carries none (Windows): the ETag then
// changes with the modification time and size only.
func inode(os.FileInfo) uint64 { return 0 }
