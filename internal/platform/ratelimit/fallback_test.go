package ratelimit_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"secureapi/internal/platform/ratelimit"

	"secureapi/internal/testutil/logbuf"
)

type syncBuffer = logbuf.Buffer

func TestFallbackLimitsInMemoryWhenRedisIsDown(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	mem := ratelimit.NewMemory()
	defer mem.Close()
	l := ratelimit.NewFallback(ratelimit.NewRedis(closedPortClient(t)), mem, log)
	lim := ratelimit.Limit{PerMinute: 1, Burst: 2}

	var got []bool
	for range 5 {
		res, err := l.Allow(context.Background(), "ip:192.0.2.1", lim)
		if err != nil {
			t.Fatalf("Fallback returned an error: %v", err)
		}
		got = append(got, res.Allowed)
	}
	want := []bool{true, true, false, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allowed = %v, want %v (burst 2 enforced in memory)", got, want)
		}
	}

	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 1 {
		t.Fatalf("%d warnings logged for 5 failed calls, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "127.0.0.1:1") {
		t.Errorf("the warning does not say what failed:\n%s", out)
	}
	if strings.Contains(out, "192.0.2.1") {
		t.Errorf("the warning leaks the limited key:\n%s", out)
	}
}
