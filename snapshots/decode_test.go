package snapshots

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// A repos.json that decodes to more than its manifest says is refused
// before it is all in memory, with or without a frame size up front.
func TestDecodeIsBounded(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 1000)
	gz, err := gzipBest(body)
	if err != nil {
		t.Fatal(err)
	}
	zs, err := zstdHigh(body)
	if err != nil {
		t.Fatal(err)
	}
	// A frame that does not say its size, as a streaming encoder writes.
	var streamed bytes.Buffer
	w, _ := zstd.NewWriter(&streamed, zstd.WithEncoderConcurrency(1))
	w.Write(body)
	w.Close()
	for name, c := range map[string]struct {
		enc  string
		data []byte
	}{"gzip": {EncodingGzip, gz}, "zstd": {EncodingZstd, zs}, "zstd without size": {EncodingZstd, streamed.Bytes()}} {
		if out, err := decode(c.data, c.enc, 1000, 0); err != nil || !bytes.Equal(out, body) {
			t.Errorf("%s: %v", name, err)
		}
		if out, err := decode(c.data, c.enc, 1000, 512); err != nil || !bytes.Equal(out, body) || cap(out) < 1512 {
			t.Errorf("%s with room: cap %d, %v", name, cap(out), err)
		}
		if _, err := decode(c.data, c.enc, 999, 0); err == nil {
			t.Errorf("%s: decoded 1000 bytes where 999 were expected", name)
		}
	}
	if _, err := decode([]byte("x"), "brotli", 1, 0); err == nil {
		t.Error("an unknown encoding was decoded")
	}
}

// A snapshot with no repositories is a few dozen bytes: it must load.
func TestTinySnapshotLoads(t *testing.T) {
	body := []byte(`{"schema_version":1}`)
	zs, _ := zstdHigh(body)
	if out, err := decode(zs, EncodingZstd, int64(len(body)), 0); err != nil || !bytes.Equal(out, body) {
		t.Fatalf("%q %v", out, err)
	}
}
