package file

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxNameBytes bounds a display name; most file systems refuse longer names,
// so a longer one could not be saved by the person downloading it.
const maxNameBytes = 255

// maxExtBytes is the longest suffix still treated as an extension when a
// name is shortened; anything longer is just part of the name.
const maxExtBytes = 16

// fallbackName replaces names that are empty or mean a directory.
const fallbackName = "file"

// SanitizeName turns a client-supplied file name into a safe display name.
// The display name is never used as a path (files are stored under random
// keys), but it is shown to people, put into Content-Disposition and saved by
// browsers, so it is reduced to a base name without control characters or
// bidirectional overrides (which can disguise "gpj.exe" as "exe.jpg"), in
// NFC form, at most 255 bytes, keeping the extension when it is shortened.
func SanitizeName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	// Both separators, whatever the server's OS: the name may come from Windows.
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidiControl(r) {
			return -1
		}
		return r
	}, name)
	name = norm.NFC.String(name)
	name = strings.TrimSpace(name)
	if strings.Trim(name, ".") == "" {
		return fallbackName
	}
	// Cutting can expose trailing spaces.
	return strings.TrimRightFunc(truncateName(name, maxNameBytes), unicode.IsSpace)
}

// isBidiControl reports the explicit directional formatting characters
// (embeddings, overrides, isolates) and the implicit marks.
func isBidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, // LRE, RLE, PDF, LRO, RLO
		r >= 0x2066 && r <= 0x2069, // LRI, RLI, FSI, PDI
		r == 0x200E, r == 0x200F,   // LRM, RLM
		r == 0x061C: // ALM
		return true
	}
	return false
}

// extension returns name's extension including the dot ("" when none). A
// leading dot (".profile") does not start an extension.
func extension(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return ""
	}
	return name[i:]
}

// truncateName cuts name to at most max bytes on a rune boundary, keeping a
// short extension intact.
func truncateName(name string, max int) string {
	if len(name) <= max {
		return name
	}
	ext := extension(name)
	if len(ext) > maxExtBytes {
		ext = ""
	}
	stem := name[:len(name)-len(ext)]
	keep := max - len(ext)
	for keep > 0 && !utf8.RuneStart(stem[keep]) {
		keep--
	}
	return stem[:keep] + ext
}
