package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at release build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// versionString is the version, the toolchain, and the commit the binary
// was built from when the build recorded it.
func versionString() string {
	s := fmt.Sprintf("api %s (%s %s/%s", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, kv := range info.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				modified = kv.Value
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			s += ", commit " + rev
			if modified == "true" {
				s += " with local changes"
			}
		}
	}
	return s + ")"
}
