package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	gen "secureapi/gen/api"
	"secureapi/internal/file"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/platform/httpx"
)

var errNoFilePart = apperr.Field("body", "file", "A part named file is required.")

// UploadFile streams the part named file into the file service; the body is
// never buffered (the route skips the request validator for that reason).
func (s *Server) UploadFile(ctx context.Context, req gen.UploadFileRequestObject) (gen.UploadFileResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	for {
		part, err := req.Body.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errNoFilePart
		}
		if err != nil {
			return nil, s.uploadReadError(err)
		}
		if part.FormName() != "file" {
			continue // NextPart skips the rest of this part
		}
		f, err := s.Files.Upload(ctx, p, part.FileName(), partReader{part, s})
		if err != nil {
			return nil, err
		}
		return gen.UploadFile201JSONResponse{Body: toAPIFile(f)}, nil
	}
}

// uploadReadError turns a failure to read the multipart body into the
// client's error: the body limit is a 413 like a declared oversize length.
func (s *Server) uploadReadError(err error) error {
	if httpx.IsBodyTooLarge(err) {
		return apperr.New(apperr.TooLarge, fmt.Sprintf("The upload exceeds the %d-byte limit.", s.Config.MaxUploadBytes))
	}
	return apperr.New(apperr.Invalid, "The request body is not a valid multipart form.")
}

// partReader reports hitting the body limit inside the file part as the 413
// it is; other read errors (a client that went away) reach the service as is.
type partReader struct {
	part *multipart.Part
	s    *Server
}

func (r partReader) Read(b []byte) (int, error) {
	n, err := r.part.Read(b)
	if err != nil && err != io.EOF && httpx.IsBodyTooLarge(err) {
		return n, r.s.uploadReadError(err)
	}
	return n, err
}

func (s *Server) ListFiles(ctx context.Context, req gen.ListFilesRequestObject) (gen.ListFilesResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	cursor, limit := "", 0
	if req.Params.Cursor != nil {
		cursor = *req.Params.Cursor
	}
	if req.Params.Limit != nil {
		limit = int(*req.Params.Limit)
	}
	files, next, err := s.Files.List(ctx, p, cursor, limit)
	if err != nil {
		return nil, err
	}
	out := gen.FileMetadataList{Items: make([]gen.FileMetadata, 0, len(files))}
	for _, f := range files {
		out.Items = append(out.Items, toAPIFile(f))
	}
	if next != "" {
		out.NextCursor = &next
	}
	return gen.ListFiles200JSONResponse{Body: out}, nil
}

func (s *Server) GetFile(ctx context.Context, req gen.GetFileRequestObject) (gen.GetFileResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	f, err := s.Files.Get(ctx, p, req.Id.String())
	if err != nil {
		return nil, err
	}
	return gen.GetFile200JSONResponse{Body: toAPIFile(f)}, nil
}

func (s *Server) DeleteFile(ctx context.Context, req gen.DeleteFileRequestObject) (gen.DeleteFileResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Files.Delete(ctx, p, req.Id.String()); err != nil {
		return nil, err
	}
	return gen.DeleteFile204Response{}, nil
}

// DownloadFile answers with the content through http.ServeContent, which
// implements Range, If-Range and If-None-Match against the ETag.
func (s *Server) DownloadFile(ctx context.Context, req gen.DownloadFileRequestObject) (gen.DownloadFileResponseObject, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	r := httpRequest(ctx)
	if r == nil {
		return nil, errors.New("download: no request in context")
	}
	f, content, err := s.Files.Open(ctx, p, req.Id.String())
	if err != nil {
		return nil, err
	}
	return fileContent{file: f, content: content, req: r, cacheControl: s.Config.DownloadCacheControl,
		contentType: s.downloadType(f.ContentType)}, nil
}

// downloadCSP keeps the API's policy and adds sandbox: should the content
// ever be rendered (a browser ignoring the attachment disposition), it runs
// in a unique origin with scripts, forms and plugins disabled.
const downloadCSP = "sandbox; default-src 'none'; frame-ancestors 'none'"

// fileContent is the download response.
type fileContent struct {
	file         file.File
	content      *os.File
	req          *http.Request
	cacheControl string
	contentType  string
}

// downloadType is the Content-Type a download is served with: the type stored
// at upload when openapi.yaml lists it for downloads, else
// application/octet-stream (types an operator allowed beyond the defaults).
// Clients then never see a media type the contract does not name.
func (s *Server) downloadType(stored string) string {
	if mt, _, err := mime.ParseMediaType(stored); err == nil && s.spec().downloadTypes[mt] {
		return stored
	}
	return "application/octet-stream"
}

func (c fileContent) VisitDownloadFileResponse(w http.ResponseWriter) error {
	defer c.content.Close()
	h := w.Header()
	h.Set("Content-Type", c.contentType)
	h.Set("Content-Disposition", contentDisposition(c.file.Filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", downloadCSP)
	h.Set("Cache-Control", c.cacheControl)
	h.Set("ETag", `"`+c.file.SHA256+`"`)
	// No modification time: the ETag is the validator.
	http.ServeContent(&downloadWriter{ResponseWriter: w, req: c.req, size: c.file.Size}, c.req, "", time.Time{}, c.content)
	return nil
}

// downloadWriter keeps what ServeContent answers within the contract: its
// plain-text 416 becomes the API's problem document (keeping Content-Range),
// and responses without content (304, 416) do not name an attachment.
type downloadWriter struct {
	http.ResponseWriter
	req     *http.Request
	size    int64
	swallow bool
}

func (w *downloadWriter) WriteHeader(code int) {
	if code == http.StatusNotModified {
		w.Header().Del("Content-Disposition")
	}
	if code != http.StatusRequestedRangeNotSatisfiable {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.swallow = true
	body := problemDocument(w.req, apperr.New(apperr.RangeNotSatisfiable,
		fmt.Sprintf("The requested range cannot be served from the file's %d bytes.", w.size)))
	h := w.Header()
	h.Del("Content-Disposition")
	h.Set("Content-Type", problemContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.ResponseWriter.WriteHeader(code)
	_, _ = w.ResponseWriter.Write(body)
}

func (w *downloadWriter) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *downloadWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// contentDisposition makes a download save under the display name: an
// RFC 5987 UTF-8 name for current browsers, an ASCII approximation for
// the rest.
func contentDisposition(name string) string {
	return `attachment; filename="` + asciiFallback(name) + `"; filename*=UTF-8''` + rfc5987Escape(name)
}

func asciiFallback(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 0x80:
			// One replacement per rune, not per byte.
			if c >= 0xC0 {
				b.WriteByte('_')
			}
		case c < 0x20, c == 0x7f, c == '"', c == '\\', c == '%':
			b.WriteByte('_')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// rfc5987Escape percent-encodes everything but RFC 5987's attr-char.
func rfc5987Escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAttrChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xF])
	}
	return b.String()
}

func isAttrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}

func toAPIFile(f file.File) gen.FileMetadata {
	return gen.FileMetadata{
		Id: parseUUID(f.ID), Filename: f.Filename, ContentType: f.ContentType,
		Size: f.Size, Sha256: f.SHA256, CreatedAt: f.CreatedAt.UTC(),
	}
}
