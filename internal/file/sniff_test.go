package file

import (
	"bytes"
	"strings"
	"testing"

	"secureapi/internal/file/filetest"
	"secureapi/internal/platform/apperr"
)

// checkContent runs every content rule the way Upload does.
func checkContent(p policy, content []byte, name string) (string, error) {
	ct, _, err := p.classify(content[:min(len(content), markupScanLen)], name)
	if err != nil {
		return "", err
	}
	if err := checkMarkup(content); err != nil {
		return "", err
	}
	if hasZipTrailer(content[max(0, len(content)-zipTailLen):]) {
		return "", unsupported("appended archive")
	}
	return ct, nil
}

func TestContentRules(t *testing.T) {
	p, err := newPolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	bigPNG := filetest.NoisePNG(200, 200) // well past sniffLen and markupScanLen
	lateScript := append(bytes.Clone(bigPNG), "<script>alert(1)</script>"...)
	tests := []struct {
		name     string
		content  []byte
		filename string
		wantType string // "" means refused with 415
		wantIn   string // part of the refusal's detail
	}{
		{"png", filetest.PNG(8, 8), "a.png", "image/png", ""},
		{"png upper-case extension", filetest.PNG(8, 8), "A.PNG", "image/png", ""},
		{"large png", bigPNG, "big.png", "image/png", ""},
		{"jpeg .jpg", filetest.JPEG(8, 8), "a.jpg", "image/jpeg", ""},
		{"jpeg .jpeg", filetest.JPEG(8, 8), "a.jpeg", "image/jpeg", ""},
		{"gif", filetest.GIF(8, 8), "a.gif", "image/gif", ""},
		{"webp", filetest.WebP(), "a.webp", "image/webp", ""},
		{"pdf", filetest.PDF("hello"), "a.pdf", "application/pdf", ""},
		{"text", filetest.Text(), "notes.txt", "text/plain; charset=utf-8", ""},
		{"empty text", nil, "empty.txt", "text/plain", ""},
		{"csv stored as text", []byte("a,b,c\n1,2,3\n4,5,6\n"), "data.csv", "text/plain", ""},
		{"json in .txt stored as text", []byte(`{"a": [1, 2, 3]}`), "data.txt", "text/plain", ""},
		{"script late in a large png", lateScript, "late.png", "image/png", ""},

		{"extension mismatch", filetest.PNG(8, 8), "a.jpg", "", ".jpg but the content is image/png"},
		{"text named .pdf", filetest.Text(), "a.pdf", "", "content is text/plain"},
		{"html disguised as png", filetest.HTML(), "cat.png", "", "text/html"},
		{"html as txt", filetest.HTML(), "page.txt", "", "text/html"},
		{"svg", filetest.SVG(), "logo.svg", "", "image/svg+xml"},
		{"xml", []byte(`<?xml version="1.0"?><note>hi</note>`), "a.txt", "", "text/xml"},
		{"elf", filetest.ELF(), "run.png", "", "Executable"},
		{"elf as txt", filetest.ELF(), "run.txt", "", "Executable"},
		{"pe", filetest.PE(), "setup.exe", "", "Executable"},
		{"pe named pdf", filetest.PE(), "invoice.pdf", "", "Executable"},
		{"MZ text", []byte("MZ is a prefix\n"), "a.txt", "", "Executable"},
		{"zip", filetest.Zip(), "a.zip", "", "application/zip"},
		{"zip named png", filetest.Zip(), "a.png", "", "application/zip"},
		{"gzip", filetest.Gzip(), "a.txt", "", "application/gzip"},
		{"not allowed type", []byte("%!PS-Adobe-3.0\n"), "a.ps", "", "application/postscript"},
		{"png polyglot with script", filetest.PNGWithChunk(8, 8, "<script>alert(1)</script>"), "a.png", "", "<script"},
		{"png polyglot with svg", filetest.PNGWithChunk(8, 8, "<SVG onload=alert(1)>"), "a.png", "", "<svg"},
		{"pdf with html", append(filetest.PDF("x"), "<html><body>hi"...), "a.pdf", "", "<html"},
		{"text with script", []byte("hello <ScRiPt>alert(1)</script>\n"), "a.txt", "", "<script"},
		{"gifar", filetest.GIFAR(), "a.gif", "", "archive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkContent(p, tt.content, tt.filename)
			if tt.wantType != "" {
				if err != nil || got != tt.wantType {
					t.Fatalf("got (%q, %v), want %q", got, err, tt.wantType)
				}
				return
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.Unsupported {
				t.Fatalf("got (%q, %v), want an Unsupported error", got, err)
			}
			if !strings.Contains(ae.Detail, tt.wantIn) {
				t.Errorf("detail %q does not mention %q", ae.Detail, tt.wantIn)
			}
		})
	}
}

func TestPolicyRefusesDangerousAllowedTypes(t *testing.T) {
	for _, typ := range []string{"image/svg+xml", "text/html", "application/zip", "application/x-elf", "application/xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"} {
		if _, err := newPolicy([]string{"image/png", typ}); err == nil {
			t.Errorf("newPolicy accepted %s", typ)
		}
	}
	if _, err := newPolicy([]string{"application/x-unknown-thing"}); err == nil {
		t.Error("newPolicy accepted a type sniffing cannot recognise")
	}
	p, err := newPolicy([]string{"application/json"})
	if err != nil {
		t.Fatal(err)
	}
	if ct, _, err := p.classify([]byte(`{"a":1}`), "a.json"); err != nil || ct != "application/json" {
		t.Errorf("json: got (%q, %v)", ct, err)
	}
	if _, _, err := p.classify(filetest.Text(), "a.txt"); err == nil {
		t.Error("text accepted with only application/json allowed")
	}
}

func TestZipTrailer(t *testing.T) {
	z := filetest.Zip()
	if !hasZipTrailer(z) {
		t.Error("zip not recognised")
	}
	withComment := append(bytes.Clone(z[:len(z)-2]), 3, 0, 'a', 'b', 'c') // comment length 3
	if !hasZipTrailer(withComment) {
		t.Error("zip with comment not recognised")
	}
	// A signature whose comment length does not reach the end is chance, not an archive.
	chance := append([]byte("PK\x05\x06"), make([]byte, 30)...)
	if hasZipTrailer(chance) {
		t.Error("stray signature taken for an archive")
	}
	if hasZipTrailer(nil) || hasZipTrailer([]byte("short")) {
		t.Error("short input taken for an archive")
	}
}

func TestTailBuffer(t *testing.T) {
	var all []byte
	tb := tailBuffer{max: 100}
	for i := range 500 {
		chunk := bytes.Repeat([]byte{byte(i)}, i%37+1)
		if i == 250 {
			chunk = bytes.Repeat([]byte{7}, 150)
		}
		all = append(all, chunk...)
		tb.write(chunk)
		want := all[max(0, len(all)-100):]
		if !bytes.Equal(tb.bytes(), want) {
			t.Fatalf("after %d writes: tail differs", i+1)
		}
	}
}

// A name without an extension (a browser's "blob") is accepted when the
// content is, and stored with the type's canonical extension; a wrong
// extension is still refused.
func TestNameWithoutExtensionGetsTheTypes(t *testing.T) {
	p, err := newPolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		content        []byte
		name, wantName string
		wantType       string
	}{
		{filetest.PNG(8, 8), "blob", "blob.png", "image/png"},
		{filetest.JPEG(8, 8), "blob", "blob.jpg", "image/jpeg"},
		{filetest.PDF("x"), "blob", "blob.pdf", "application/pdf"},
		{filetest.Text(), "README", "README.txt", "text/plain; charset=utf-8"},
		{filetest.PNG(8, 8), "file", "file.png", "image/png"},
		{filetest.PNG(8, 8), "a.png", "a.png", "image/png"},
		{filetest.PNG(8, 8), strings.Repeat("n", 255), strings.Repeat("n", 251) + ".png", "image/png"},
	} {
		ct, name, err := p.classify(tc.content, tc.name)
		if err != nil || ct != tc.wantType || name != tc.wantName {
			t.Errorf("classify(%s) = %q, %q, %v; want %q, %q", tc.name[:min(len(tc.name), 16)], ct, name, err, tc.wantType, tc.wantName)
		}
	}
	if _, _, err := p.classify(filetest.Text(), "blob"); err != nil {
		t.Errorf("text blob refused: %v", err)
	}
	if _, _, err := p.classify(filetest.HTML(), "blob"); err == nil {
		t.Error("an HTML blob was accepted")
	}
}

// indexFold must find exactly what a case-insensitive search finds, at the
// edges too: a marker at the very end, a '<' too close to the end to start
// one, and markers behind near misses.
func TestIndexFold(t *testing.T) {
	cases := []struct{ s, needle string }{
		{"", "<script"},
		{"<", "<script"},
		{"<script", "<script"},
		{"text <SCRIPT>", "<script"},
		{"a<scrip", "<script"},
		{"<<<scr<ScRiPt", "<script"},
		{strings.Repeat("x", 5000) + "<svg", "<svg"},
		{strings.Repeat("<sv", 100) + "g", "<svg"},
		{"<svgx<SVG", "<svg"},
		{"no markers here at all", "<iframe"},
	}
	for _, c := range cases {
		want := bytes.Index(bytes.ToLower([]byte(c.s)), []byte(c.needle))
		if got := indexFold([]byte(c.s), []byte(c.needle)); got != want {
			t.Errorf("indexFold(%.40q, %q) = %d, want %d", c.s, c.needle, got, want)
		}
	}
}
