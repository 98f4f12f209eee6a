// Package filetest builds upload contents for tests: real images and
// documents made by the standard library, and the hostile shapes the upload
// rules refuse. Everything is generated, so no binary fixture is committed.
package filetest

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
)

func picture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 13), uint8(x ^ y), 255})
		}
	}
	return img
}

// PNG returns a w×h PNG image.
func PNG(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, picture(w, h)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// NoisePNG returns a w×h PNG of pseudo-random pixels: it barely compresses,
// so its size is about 4·w·h bytes.
func NoisePNG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = byte(x)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// JPEG returns a w×h JPEG image.
func JPEG(w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(w, h), nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// GIF returns a w×h GIF image.
func GIF(w, h int) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, picture(w, h), nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// WebP returns a 1×1 lossless WebP image.
func WebP() []byte {
	return []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
}

// PDF returns a one-page PDF showing text, with a correct cross-reference table.
func PDF(text string) []byte {
	stream := fmt.Sprintf("BT /F1 24 Tf 72 720 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// Text returns plain UTF-8 text.
func Text() []byte { return []byte("Meeting notes\nnext steps: ship it\n") }

// HTML returns an HTML page with a script.
func HTML() []byte {
	return []byte("<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n")
}

// SVG returns an SVG image with a script.
func SVG() []byte {
	return []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
}

// ELF returns the header of a 64-bit Linux executable.
func ELF() []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF\x02\x01\x01\x00")
	binary.LittleEndian.PutUint16(b[16:], 2)    // ET_EXEC
	binary.LittleEndian.PutUint16(b[18:], 0x3e) // x86-64
	binary.LittleEndian.PutUint32(b[20:], 1)
	binary.LittleEndian.PutUint16(b[52:], 64)
	return append(b, make([]byte, 512)...)
}

// PE returns the headers of a Windows executable (DOS stub and PE signature).
func PE() []byte {
	b := make([]byte, 512)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x84:], 0x8664) // x86-64
	return b
}

// Zip returns a zip archive holding one text file.
func Zip() []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("readme.txt")
	w.Write(Text())
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// Gzip returns gzip-compressed text.
func Gzip() []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(Text())
	zw.Close()
	return b.Bytes()
}

// PNGWithChunk returns PNG(w, h) with an extra tEXt chunk holding text
// right after the header chunk, as a polyglot would carry a payload.
func PNGWithChunk(w, h int, text string) []byte {
	img := PNG(w, h)
	const afterIHDR = 8 + 4 + 4 + 13 + 4 // signature, length, type, IHDR data, crc
	data := append([]byte("Comment\x00"), text...)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	typed := append([]byte("tEXt"), data...)
	chunk = append(chunk, typed...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(typed))
	out := append([]byte{}, img[:afterIHDR]...)
	out = append(out, chunk...)
	return append(out, img[afterIHDR:]...)
}

// GIFAR returns a GIF with a zip archive appended: a valid image to an image
// viewer and a valid archive to a zip reader.
func GIFAR() []byte { return append(GIF(4, 4), Zip()...) }
