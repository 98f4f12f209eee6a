package file

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"mime"
	"slices"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// The content rules. An upload is accepted only when all of these hold:
//
//  1. Its type, sniffed from the first sniffLen bytes (the declared
//     Content-Type is never consulted), is in the allowed list, or descends
//     from an allowed type in mimetype's tree (APNG is a PNG; CSV or JSON is
//     plain text), in which case it is stored as the allowed ancestor.
//  2. Neither the sniffed type nor any of its ancestors is refused outright
//     (refusedTypes): markup a browser would run (HTML, XHTML, SVG, any XML,
//     JavaScript, PHP), executables (ELF, PE, Mach-O, Java, Wasm, installers)
//     and archives or compressed streams (zip and everything built on it,
//     gzip, tar, 7z, rar...). These cannot be allowed by configuration.
//  3. It does not start with an executable's magic bytes ("MZ", "\x7fELF"),
//     whatever else it may also parse as.
//  4. Its first markupScanLen bytes contain none of markupMarkers, compared
//     case-insensitively. Browsers decide to render HTML from the start of a
//     resource, so a PNG, PDF or text file carrying "<script" there is a
//     polyglot that turns into stored XSS wherever it is ever served inline.
//     The scan is bounded because a marker of five or more bytes appears by
//     chance in compressed data: over 64 KiB the odds are about 1 in 10^5.
//  5. It does not end with a zip end-of-central-directory record whose
//     comment runs exactly to the end of the file: that is how zip readers
//     (and the JVM, and Office) find an archive appended to an image ("GIFAR").
//  6. The display name's extension is one of the accepted type's extensions
//     (typeExtensions) or the sniffed type's own. A name without an extension
//     (a browser names a Blob sent without a file name "blob") gets the
//     accepted type's canonical extension, the first one listed, so whoever
//     downloads the file saves it under an extension that matches its content.
const (
	sniffLen      = 3 << 10
	markupScanLen = 64 << 10
	// zipTailLen covers an end-of-central-directory record (22 bytes) with
	// the longest possible comment (65535 bytes).
	zipTailLen = 22 + 0xFFFF
)

// DefaultAllowed are the types accepted when Deps.Allowed is empty.
var DefaultAllowed = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}

// refusedTypes are refused with all their descendants in mimetype's tree.
var refusedTypes = []string{
	// Markup and script.
	"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
	"text/javascript", "text/x-php",
	// Executables.
	"application/x-elf", "application/vnd.microsoft.portable-executable", "application/x-mach-binary",
	"application/x-java-applet", "application/x-shockwave-flash", "application/wasm",
	"application/x-ms-installer", "application/x-ms-shortcut", "application/x-chrome-extension",
	"application/vnd.ms-htmlhelp", "application/x-bytecode.python",
	// Archives and compressed streams.
	"application/zip", "application/gzip", "application/x-xz", "application/x-7z-compressed",
	"application/x-tar", "application/x-xar", "application/x-bzip2", "application/vnd.rar",
	"application/zstd", "application/lzip", "application/x-cpio", "application/x-archive",
	"application/vnd.ms-cab-compressed", "application/x-installshield", "application/x-rpm",
	"application/zlib",
}

var executableMagic = [][]byte{[]byte("MZ"), []byte("\x7fELF")}

var markupMarkers = [][]byte{
	[]byte("<script"), []byte("<html"), []byte("<svg"), []byte("<body"),
	[]byte("<iframe"), []byte("<!doctype html"),
}

// typeExtensions are the extensions accepted for a type, lower case. Types
// missing here accept mimetype's extension for them.
var typeExtensions = map[string][]string{
	"image/png":       {".png"},
	"image/jpeg":      {".jpg", ".jpeg", ".jpe", ".jfif"},
	"image/gif":       {".gif"},
	"image/webp":      {".webp"},
	"application/pdf": {".pdf"},
	"text/plain":      {".txt", ".text", ".log", ".md", ".csv", ".tsv"},
}

// policy decides whether content may be stored and as which type.
type policy struct {
	allowed []string // lower case, no parameters
}

func newPolicy(allowed []string) (policy, error) {
	if len(allowed) == 0 {
		allowed = DefaultAllowed
	}
	p := policy{}
	for _, t := range allowed {
		mt, _, err := mime.ParseMediaType(t)
		if err != nil {
			return policy{}, fmt.Errorf("allowed upload type %q: %w", t, err)
		}
		m := mimetype.Lookup(mt)
		if m == nil {
			return policy{}, fmt.Errorf("allowed upload type %q cannot be recognised by content sniffing", t)
		}
		if r := refusedAncestor(m); r != "" {
			return policy{}, fmt.Errorf("allowed upload type %q is always refused (it is or contains %s, which a browser or system could execute)", t, r)
		}
		p.allowed = append(p.allowed, mt)
	}
	return p, nil
}

// refusedAncestor returns the refused type m is or descends from ("" if none).
func refusedAncestor(m *mimetype.MIME) string {
	for ; m != nil; m = m.Parent() {
		for _, r := range refusedTypes {
			if m.Is(r) {
				return r
			}
		}
	}
	return ""
}

func baseType(m *mimetype.MIME) string {
	mt, _, _ := mime.ParseMediaType(m.String())
	return mt
}

// classify checks the start of the content (up to sniffLen bytes) and the
// display name, and returns the content type and display name to store.
func (p policy) classify(head []byte, name string) (contentType, storedName string, err error) {
	for _, magic := range executableMagic {
		if bytes.HasPrefix(head, magic) {
			return "", "", unsupported("Executable files are not accepted.")
		}
	}
	detected := mimetype.Detect(head[:min(len(head), sniffLen)])
	if r := refusedAncestor(detected); r != "" {
		return "", "", unsupported(fmt.Sprintf("Files of type %s are not accepted.", baseType(detected)))
	}
	accepted := ""
	var acceptedMIME *mimetype.MIME
	for m := detected; m != nil && accepted == ""; m = m.Parent() {
		for _, a := range p.allowed {
			if m.Is(a) {
				accepted, acceptedMIME = a, m
				break
			}
		}
	}
	if accepted == "" {
		return "", "", unsupported(fmt.Sprintf("Files of type %s are not accepted; allowed types: %s.",
			baseType(detected), strings.Join(p.allowed, ", ")))
	}

	exts := typeExtensions[accepted]
	if exts == nil && acceptedMIME.Extension() != "" {
		exts = []string{acceptedMIME.Extension()}
	}
	if e := detected.Extension(); e != "" && !slices.Contains(exts, e) {
		exts = append(slices.Clip(exts), e)
	}
	ext := strings.ToLower(extension(name))
	if ext == "" && len(exts) > 0 {
		ext = exts[0]
		name = truncateName(name+ext, maxNameBytes)
	}
	if !slices.Contains(exts, ext) {
		shown := ext
		if shown == "" {
			shown = "no extension"
		}
		return "", "", unsupported(fmt.Sprintf("The file name has %s but the content is %s (expected %s).",
			shown, baseType(detected), strings.Join(exts, " or ")))
	}

	// Keep the charset mimetype found for text; other ancestors are stored bare.
	if acceptedMIME == detected {
		return detected.String(), name, nil
	}
	return accepted, name, nil
}

// checkMarkup applies rule 4 to the first markupScanLen bytes.
func checkMarkup(head []byte) error {
	head = head[:min(len(head), markupScanLen)]
	for _, mk := range markupMarkers {
		if indexFold(head, mk) >= 0 {
			return unsupported(fmt.Sprintf("The file contains markup (%s) that a browser could run.", mk))
		}
	}
	return nil
}

// indexFold is a case-insensitive bytes.Index for a lower-case ASCII needle
// that starts with '<', without copying the haystack.
func indexFold(s, needle []byte) int {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		// IndexByte jumps to the next '<' in word-sized steps; text has few.
		k := bytes.IndexByte(s[i:len(s)-n+1], '<')
		if k < 0 {
			return -1
		}
		i += k
		j := 1
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				break
			}
		}
		if j == n {
			return i
		}
	}
	return -1
}

// hasZipTrailer applies rule 5: tail is the last bytes of the content (at
// least zipTailLen of them when the content is that long).
func hasZipTrailer(tail []byte) bool {
	sig := []byte("PK\x05\x06")
	for i := len(tail) - 22; i >= 0; i-- {
		if tail[i] != 'P' || !bytes.Equal(tail[i:i+4], sig) {
			continue
		}
		commentLen := int(binary.LittleEndian.Uint16(tail[i+20 : i+22]))
		if i+22+commentLen == len(tail) {
			return true
		}
	}
	return false
}
