package logging_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"secureapi/internal/platform/logging"
	"secureapi/internal/platform/reqinfo"
)

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"alice@example.com": "a***@example.com", "é@x.org": "é***@x.org", "nonsense": "***", "@x.org": "***",
	} {
		if got := logging.MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every line logged with a request's context carries its request id, once.
func TestRequestIDOnEveryLine(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, "info", "json")
	ctx := reqinfo.With(context.Background(), reqinfo.Info{RequestID: "req-42"})
	log.InfoContext(ctx, "with context")
	log.InfoContext(ctx, "explicit", "request_id", "req-42")
	log.Info("without context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines = %q", lines)
	}
	for i, want := range []int{1, 1, 0} {
		if got := strings.Count(lines[i], `"request_id":"req-42"`); got != want {
			t.Errorf("line %d has the request id %d times, want %d: %s", i, got, want, lines[i])
		}
	}
	log.Debug("below the level")
	if strings.Contains(buf.String(), "below the level") {
		t.Error("debug line logged at info level")
	}
}
