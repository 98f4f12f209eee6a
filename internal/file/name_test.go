package file

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("a", 300)
	longUTF8 := strings.Repeat("é", 200) // 2 bytes each
	tests := []struct {
		name, in, want string
	}{
		{"plain", "report.pdf", "report.pdf"},
		{"unix traversal", "../../etc/passwd", "passwd"},
		{"windows traversal", `..\..\boot.ini`, "boot.ini"},
		{"nested path", "a/b/c.png", "c.png"},
		{"mixed separators", `C:\Users\bob/Desktop\photo.jpg`, "photo.jpg"},
		{"trailing separator", "uploads/", "file"},
		{"empty", "", "file"},
		{"dot", ".", "file"},
		{"dot dot", "..", "file"},
		{"dots only", "....", "file"},
		{"dot dot after path", "a/..", "file"},
		{"NUL truncation trick", "evil.php\x00.png", "evil.php.png"},
		{"CRLF header injection", "a\r\nSet-Cookie: x=1.txt", "aSet-Cookie: x=1.txt"},
		{"control characters", "tab\there\x7f\x1b[31m.txt", "tabhere[31m.txt"},
		{"C1 control", "a\u0085b.txt", "ab.txt"},
		{"right-to-left override", "invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"bidi isolates and marks", "\u2066a\u2069\u200Eb\u200F\u061C.txt", "ab.txt"},
		{"NFC normalization", "cafe\u0301.txt", "caf\u00e9.txt"},
		{"surrounding spaces", "  notes.txt  ", "notes.txt"},
		{"invalid UTF-8", "bad\xff.txt", "bad\uFFFD.txt"},
		{"hidden file kept", ".profile", ".profile"},
		{"long ASCII keeps extension", long + ".png", long[:251] + ".png"},
		{"long UTF-8 cut on a rune boundary", longUTF8 + ".txt", strings.Repeat("é", 125) + ".txt"},
		{"odd budget cut on a rune boundary", "x" + longUTF8 + ".txt", "x" + strings.Repeat("é", 125) + ".txt"},
		{"long extension is not kept", "a." + long, ("a." + long)[:255]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SanitizeName(tt.in)
			if got != tt.want {
				t.Errorf("SanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkNameInvariants(t, tt.in, got)
		})
	}
}

func checkNameInvariants(t *testing.T, in, got string) {
	t.Helper()
	if !utf8.ValidString(got) {
		t.Errorf("SanitizeName(%q) = %q: not valid UTF-8", in, got)
	}
	if len(got) == 0 || len(got) > maxNameBytes {
		t.Errorf("SanitizeName(%q) = %q: %d bytes", in, got, len(got))
	}
	if strings.ContainsAny(got, `/\`) || got == "." || got == ".." {
		t.Errorf("SanitizeName(%q) = %q: a path, not a name", in, got)
	}
	for _, r := range got {
		if unicode.IsControl(r) || isBidiControl(r) {
			t.Errorf("SanitizeName(%q) = %q: contains %U", in, got, r)
		}
	}
	if SanitizeName(got) != got {
		t.Errorf("SanitizeName is not idempotent on %q", got)
	}
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"report.pdf", "../../etc/passwd", `..\..\boot.ini`, "a\x00b", "\u202Efdp.exe", "", "..", strings.Repeat("é", 200) + ".txt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkNameInvariants(t, in, SanitizeName(in))
	})
}
