package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"secureapi/internal/api/apitest"
)

func serve(e *apitest.Env, method, target, token, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	e.App.Handler.ServeHTTP(rec, req)
	return rec
}

type page struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

// FuzzCursors sends arbitrary cursors and limits to the three paginated
// lists. The answer is a page or a 400 naming the cursor or the limit,
// nothing else; a page is only ever served for a cursor in the list's own
// form (a canonical sequence number for audit events, a canonical UUID for
// accounts, a UUID for files) and a limit of 1..100; and every next_cursor
// handed out leads to the next page.
func FuzzCursors(f *testing.F) {
	for _, s := range []struct {
		list          uint8
		cursor, limit string
	}{
		{0, "", "1"}, {0, "1", ""}, {0, "01", ""}, {0, "-1", ""}, {0, "9223372036854775808", ""}, {0, "+5", "2"},
		{1, "", "1"}, {1, "0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10", ""}, {1, "0192F6A4-6A8E-7CC1-9A55-3F7C2D6E8B10", ""},
		{2, "", "1"}, {2, "{0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10}", ""}, {2, "urn:uuid:0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10", "100"},
		{2, "\x00", "0"}, {1, "' OR 1=1 --", "101"}, {0, strings.Repeat("9", 300), "1e2"},
	} {
		f.Add(s.list, s.cursor, s.limit)
	}
	e := apitest.New(f, "sqlite", nil)
	admin := e.NewAccount(f, "cursoradmin", true)
	for i := range 3 {
		e.NewAccount(f, fmt.Sprintf("cursoruser%d", i), false)
		body, ct := multipartFile(fmt.Sprintf("n%d.txt", i), []byte(fmt.Sprintf("file %d\n", i)))
		if rec := serve(e, "POST", "/api/v1/files", admin.Token, ct, body); rec.Code != http.StatusCreated {
			f.Fatalf("upload: %d %s", rec.Code, rec.Body)
		}
	}
	lists := []string{"/api/v1/audit-events", "/api/v1/users", "/api/v1/files"}
	f.Fuzz(func(t *testing.T, list uint8, cursor, limit string) {
		path := lists[int(list)%len(lists)]
		q := url.Values{"cursor": {cursor}}
		if limit != "" {
			q.Set("limit", limit)
		}
		rec := serve(e, "GET", path+"?"+q.Encode(), admin.Token, "", nil)
		switch rec.Code {
		case http.StatusBadRequest:
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%s cursor %q limit %q: 400 as %q", path, cursor, limit, ct)
			}
			var p struct {
				Errors []struct{ Location, Field string } `json:"errors"`
			}
			json.Unmarshal(rec.Body.Bytes(), &p)
			if len(p.Errors) == 0 {
				t.Fatalf("%s cursor %q limit %q: 400 without field errors: %s", path, cursor, limit, rec.Body)
			}
			for _, fe := range p.Errors {
				if fe.Location != "query" || fe.Field != "cursor" && fe.Field != "limit" {
					t.Fatalf("%s cursor %q limit %q: 400 blames %s %q", path, cursor, limit, fe.Location, fe.Field)
				}
			}
			return
		case http.StatusOK:
		default:
			t.Fatalf("%s cursor %q limit %q: %d %s", path, cursor, limit, rec.Code, rec.Body)
		}
		if limit != "" {
			if n, err := strconv.Atoi(limit); err != nil || n < 1 || n > 100 {
				t.Fatalf("%s served a page for limit %q", path, limit)
			}
		}
		if cursor != "" && !cursorForm(path, cursor) {
			t.Fatalf("%s served a page for cursor %q", path, cursor)
		}
		var pg page
		if err := json.Unmarshal(rec.Body.Bytes(), &pg); err != nil {
			t.Fatalf("%s: page does not decode: %v", path, err)
		}
		if pg.NextCursor != nil {
			next := serve(e, "GET", path+"?"+url.Values{"cursor": {*pg.NextCursor}, "limit": {"1"}}.Encode(), admin.Token, "", nil)
			if next.Code != http.StatusOK {
				t.Fatalf("%s: the next_cursor %q it handed out gets %d %s", path, *pg.NextCursor, next.Code, next.Body)
			}
		}
	})
}

func cursorForm(path, c string) bool {
	switch path {
	case "/api/v1/audit-events":
		n, err := strconv.ParseInt(c, 10, 64)
		return err == nil && n >= 1 && strconv.FormatInt(n, 10) == c
	case "/api/v1/users":
		u, err := uuid.Parse(c)
		return err == nil && u.String() == c
	default:
		_, err := uuid.Parse(c)
		return err == nil
	}
}

func multipartFile(name string, content []byte) ([]byte, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	p, _ := w.CreateFormFile("file", name)
	p.Write(content)
	w.Close()
	return b.Bytes(), w.FormDataContentType()
}

// FuzzUploadMultipart sends arbitrary multipart bodies (and boundary
// parameters) to the upload route, which parses them itself, streaming.
// The answer is 201 or a 400/413/415 problem, never anything else; a stored
// file reads back exactly as acknowledged; and a refused upload leaves
// nothing in the upload directory.
func FuzzUploadMultipart(f *testing.F) {
	body, ct := multipartFile("notes.txt", []byte("hello\n"))
	_, params, _ := strings.Cut(ct, ";")
	f.Add(params, body)
	f.Add(params, body[:len(body)/2])
	f.Add(params, bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")))
	f.Add("; boundary=", body)
	f.Add(`; boundary="a b"`, []byte("--a b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.txt\"\r\n\r\nhi\r\n--a b--\r\n"))
	exe, ct2 := multipartFile("setup.txt", []byte("MZ\x90\x00rest"))
	_, params2, _ := strings.Cut(ct2, ";")
	f.Add(params2, exe)
	e := apitest.New(f, "sqlite", map[string]string{"MAX_UPLOAD_BYTES": "65536"})
	acct := e.NewAccount(f, "multipartfuzz", false)
	uploads := filepath.Join(e.DataDir, "uploads")
	f.Fuzz(func(t *testing.T, params string, body []byte) {
		rec := serve(e, "POST", "/api/v1/files", acct.Token, "multipart/form-data"+params, body)
		switch rec.Code {
		case http.StatusCreated:
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%d as %q", rec.Code, ct)
			}
			filepath.WalkDir(uploads, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					t.Fatalf("refused upload (%d) left %s behind", rec.Code, p)
				}
				return nil
			})
			return
		default:
			t.Fatalf("upload with params %q: %d %s", params, rec.Code, rec.Body)
		}
		var got struct {
			ID     string `json:"id"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		dl := serve(e, "GET", "/api/v1/files/"+got.ID+"/content", acct.Token, "", nil)
		sum := sha256.Sum256(dl.Body.Bytes())
		if dl.Code != http.StatusOK || int64(dl.Body.Len()) != got.Size || hex.EncodeToString(sum[:]) != got.SHA256 {
			t.Fatalf("stored file reads back as %d, %d bytes %x; acknowledged %d bytes %s", dl.Code, dl.Body.Len(), sum, got.Size, got.SHA256)
		}
		if del := serve(e, "DELETE", "/api/v1/files/"+got.ID, acct.Token, "", nil); del.Code != http.StatusNoContent {
			t.Fatalf("delete: %d %s", del.Code, del.Body)
		}
	})
}
