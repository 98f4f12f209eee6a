package main

import (
	"bytes"
	"io"
	"testing"

	"github.com/gabriel-vasile/mimetype"
)

func TestTextGenIsExactPlainText(t *testing.T) {
	for _, n := range []int64{0, 1, 63, 64, 65, 1 << 20} {
		b, err := io.ReadAll(&textGen{left: n})
		if err != nil || int64(len(b)) != n {
			t.Fatalf("size %d: got %d bytes, %v", n, len(b), err)
		}
		if n > 0 && !mimetype.Detect(b).Is("text/plain") {
			t.Errorf("size %d: not plain text", n)
		}
		if bytes.Contains(b, []byte("<")) {
			t.Errorf("size %d: contains markup", n)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "127.9.9.9:1": true,
		"10.0.0.1:8080": false, "192.0.2.1:80": false, "[2001:db8::1]:443": false,
	} {
		if err := loopbackOnly("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("%s: err = %v", addr, err)
		}
	}
}
