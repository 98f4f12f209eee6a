package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	gen "secureapi/gen/api"
	"secureapi/internal/api/apitest"
	"secureapi/internal/audit"
	"secureapi/internal/file"
	"secureapi/internal/file/filetest"
)

const (
	fileMaxUpload = 1 << 20
	fileQuota     = 2 << 20
)

var filesEnv = map[string]string{
	"MAX_UPLOAD_BYTES":   fmt.Sprint(fileMaxUpload),
	"UPLOAD_QUOTA_BYTES": fmt.Sprint(fileQuota),
}

// fileAccount registers (or, for an admin, creates) an account, logs it in
// and returns its access token.
func fileAccount(t *testing.T, e *apitest.Env, name string, admin bool) string {
	t.Helper()
	return e.NewAccount(t, name, admin).Token
}

// fileMultipart builds a form with one part per field; a field named file
// gets filename and content.
func fileMultipart(t testing.TB, fields []string, filename string, content []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		var w io.Writer
		var err error
		if f == "file" {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, filename))
			// The declared type is a lie on purpose: it must never matter.
			h.Set("Content-Type", "image/png")
			w, err = mw.CreatePart(h)
			if err == nil {
				_, err = w.Write(content)
			}
		} else {
			err = mw.WriteField(f, "some value")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), mw.FormDataContentType()
}

func fileUploadRequest(t testing.TB, token, filename string, content []byte) apitest.Request {
	body, ct := fileMultipart(t, []string{"file"}, filename, content)
	return apitest.Request{Method: "POST", URL: "/api/v1/files", Token: token, Body: body,
		Headers: map[string]string{"Content-Type": ct}}
}

type fileJSON struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	CreatedAt   string `json:"created_at"`
}

func fileUpload(t *testing.T, e *apitest.Env, token, filename string, content []byte) fileJSON {
	t.Helper()
	res := e.Do(t, fileUploadRequest(t, token, filename, content))
	if res.Status != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", filename, res.Status, res.Body)
	}
	var f fileJSON
	res.Decode(t, &f)
	return f
}

func fileSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// fileStored lists every regular file in the upload directory, temporary ones included.
func fileStored(t *testing.T, e *apitest.Env) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(e.App.Config.UploadDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func fileListCount(t *testing.T, e *apitest.Env, token string) int {
	t.Helper()
	res := e.Do(t, apitest.Request{URL: "/api/v1/files", Token: token})
	if res.Status != http.StatusOK {
		t.Fatalf("list: %d %s", res.Status, res.Body)
	}
	return len(res.JSON(t)["items"].([]any))
}

func fileText(n int) []byte {
	return bytes.Repeat([]byte("all work and no play makes a dull upload\n"), n/41+1)[:n]
}

func TestUploadAccepted(t *testing.T) {
	apitest.Each(t, filesEnv, func(t *testing.T, e *apitest.Env) {
		alice := fileAccount(t, e, "alice", false)
		for _, c := range []struct {
			name, ctype string
			content     []byte
		}{
			{"photo.png", "image/png", filetest.NoisePNG(150, 150)},
			{"report.pdf", "application/pdf", filetest.PDF("quarterly")},
			{"notes.txt", "text/plain; charset=utf-8", filetest.Text()},
		} {
			got := fileUpload(t, e, alice, c.name, c.content)
			if got.Filename != c.name || got.ContentType != c.ctype || got.Size != int64(len(c.content)) || got.SHA256 != fileSum(c.content) {
				t.Errorf("%s: got %+v", c.name, got)
			}
		}
		if n := fileListCount(t, e, alice); n != 3 {
			t.Errorf("list has %d files, want 3", n)
		}
	})
}

func TestUploadRefused(t *testing.T) {
	apitest.Each(t, filesEnv, func(t *testing.T, e *apitest.Env) {
		alice := fileAccount(t, e, "alice", false)
		noFile, noFileCT := fileMultipart(t, []string{"comment"}, "", nil)
		e.Run(t, []apitest.Scenario{
			{Name: "html disguised as png", Request: fileUploadRequest(t, alice, "cat.png", filetest.HTML()),
				WantStatus: 415, WantProblem: "unsupported-media-type"},
			{Name: "svg", Request: fileUploadRequest(t, alice, "logo.svg", filetest.SVG()),
				WantStatus: 415, WantProblem: "unsupported-media-type"},
			{Name: "elf executable", Request: fileUploadRequest(t, alice, "tool.png", filetest.ELF()),
				WantStatus: 415, WantProblem: "unsupported-media-type"},
			{Name: "pe executable", Request: fileUploadRequest(t, alice, "setup.pdf", filetest.PE()),
				WantStatus: 415, WantProblem: "unsupported-media-type"},
			{Name: "zip archive", Request: fileUploadRequest(t, alice, "a.zip", filetest.Zip()),
				WantStatus: 415, WantProblem: "unsupported-media-type"},
			{Name: "png with a script", Request: fileUploadRequest(t, alice, "a.png", filetest.PNGWithChunk(4, 4, "<script>alert(1)</script>")),
				WantStatus: 415, WantProblem: "unsupported-media-type"},
			{Name: "extension mismatch", Request: fileUploadRequest(t, alice, "photo.jpg", filetest.PNG(4, 4)),
				WantStatus: 415, WantProblem: "unsupported-media-type",
				Check: func(t *testing.T, res *apitest.Response) {
					d := res.JSON(t)["detail"].(string)
					if !strings.Contains(d, ".jpg") || !strings.Contains(d, "image/png") {
						t.Errorf("detail %q does not name the extension and the type", d)
					}
				}},
			{Name: "no file part", Request: apitest.Request{Method: "POST", URL: "/api/v1/files", Token: alice, Body: noFile,
				Headers: map[string]string{"Content-Type": noFileCT}},
				WantStatus: 400, WantProblem: "validation",
				Check: func(t *testing.T, res *apitest.Response) {
					errs := res.JSON(t)["errors"].([]any)
					if len(errs) != 1 || errs[0].(map[string]any)["field"] != "file" {
						t.Errorf("errors = %v", errs)
					}
				}},
			{Name: "not multipart", Request: apitest.Request{Method: "POST", URL: "/api/v1/files", Token: alice, Body: []byte(`{}`)},
				WantStatus: 415, WantProblem: "unsupported-media-type"},
			{Name: "anonymous", Request: fileUploadRequest(t, "", "a.txt", filetest.Text()),
				WantStatus: 401, WantProblem: "unauthorized"},
		})
		if files := fileStored(t, e); len(files) != 0 {
			t.Errorf("refused uploads left files: %v", files)
		}
		if n := fileListCount(t, e, alice); n != 0 {
			t.Errorf("refused uploads left %d rows", n)
		}
	})
}

// fileChunked hides a reader's length, so the request goes out without Content-Length.
type fileChunked struct{ io.Reader }

func TestUploadSizeLimits(t *testing.T) {
	apitest.Each(t, filesEnv, func(t *testing.T, e *apitest.Env) {
		alice := fileAccount(t, e, "alice", false)

		t.Run("declared length over the limit is refused before reading", func(t *testing.T) {
			req := apitest.NewHTTPRequest(t, fileUploadRequest(t, alice, "a.txt", filetest.Text()))
			req.ContentLength = fileMaxUpload + 2<<20
			res := e.Serve(t, req)
			if res.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status = %d: %s", res.Status, res.Body)
			}
			apitest.AssertProblem(t, res, "payload-too-large")
		})

		t.Run("chunked file over the limit", func(t *testing.T) {
			body, ct := fileMultipart(t, []string{"file"}, "big.txt", fileText(fileMaxUpload+1))
			res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/files", Token: alice,
				Body: fileChunked{bytes.NewReader(body)}, Headers: map[string]string{"Content-Type": ct}})
			if res.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status = %d: %s", res.Status, res.Body)
			}
			p := apitest.AssertProblem(t, res, "payload-too-large")
			if want := fmt.Sprintf("The file exceeds the %d-byte limit.", fileMaxUpload); p["detail"] != want {
				t.Errorf("detail = %v, want %q", p["detail"], want)
			}
		})

		t.Run("chunked body over the limit before the file part", func(t *testing.T) {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			mw.WriteField("padding", string(fileText(fileMaxUpload+(1<<20)+10)))
			w, _ := mw.CreateFormFile("file", "a.txt")
			w.Write(filetest.Text())
			mw.Close()
			res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/files", Token: alice,
				Body: fileChunked{&b}, Headers: map[string]string{"Content-Type": mw.FormDataContentType()}})
			if res.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status = %d: %s", res.Status, res.Body)
			}
			apitest.AssertProblem(t, res, "payload-too-large")
		})

		t.Run("the server keeps serving", func(t *testing.T) {
			if files := fileStored(t, e); len(files) != 0 {
				t.Errorf("oversize uploads left files: %v", files)
			}
			fileUpload(t, e, alice, "small.txt", filetest.Text())
		})

		t.Run("exactly the limit is accepted", func(t *testing.T) {
			fileUpload(t, e, alice, "max.txt", fileText(fileMaxUpload))
		})

		t.Run("quota", func(t *testing.T) {
			// alice holds about 1 MiB; two more almost-full files cannot both fit in 2 MiB.
			fileUpload(t, e, alice, "fill.txt", fileText(fileMaxUpload-(64<<10)))
			res := e.Do(t, fileUploadRequest(t, alice, "over.txt", fileText(fileMaxUpload/2)))
			if res.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status = %d: %s", res.Status, res.Body)
			}
			p := apitest.AssertProblem(t, res, "payload-too-large")
			if want := fmt.Sprintf("Upload exceeds your storage quota of %d bytes.", fileQuota); p["detail"] != want {
				t.Errorf("detail = %v, want %q", p["detail"], want)
			}
			// Another account has its own quota.
			bob := fileAccount(t, e, "bob", false)
			fileUpload(t, e, bob, "bob.txt", fileText(fileMaxUpload/2))
		})
	})
}

// fileAbortingBody returns the first n bytes of r, then fails like a dropped connection.
type fileAbortingBody struct {
	r io.Reader
	n int
}

func (b *fileAbortingBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n, err := b.r.Read(p[:min(len(p), b.n)])
	b.n -= n
	return n, err
}

func TestUploadAbortLeavesNothing(t *testing.T) {
	apitest.Each(t, filesEnv, func(t *testing.T, e *apitest.Env) {
		alice := fileAccount(t, e, "alice", false)
		content := filetest.NoisePNG(200, 200)
		body, ct := fileMultipart(t, []string{"file"}, "a.png", content)
		res := e.Do(t, apitest.Request{Method: "POST", URL: "/api/v1/files", Token: alice,
			Body: &fileAbortingBody{r: bytes.NewReader(body), n: len(body) / 2}, Headers: map[string]string{"Content-Type": ct}})
		if res.Status != http.StatusBadRequest {
			t.Fatalf("status = %d: %s", res.Status, res.Body)
		}
		if p := apitest.AssertProblem(t, res, "bad-request"); p["detail"] != file.ErrUploadAborted.Detail {
			t.Errorf("detail = %v", p["detail"])
		}
		if files := fileStored(t, e); len(files) != 0 {
			t.Errorf("aborted fileUpload left files: %v", files)
		}
		if n := fileListCount(t, e, alice); n != 0 {
			t.Errorf("aborted fileUpload left %d rows", n)
		}
	})
}

func TestUploadStoresSanitizedName(t *testing.T) {
	apitest.Each(t, filesEnv, func(t *testing.T, e *apitest.Env) {
		alice := fileAccount(t, e, "alice", false)
		for in, want := range map[string]string{
			"../../etc/passwd.txt":         "passwd.txt",
			`..\\..\\windows\\boot.txt`:    "boot.txt",
			"invoice\u202Etxt.exe.txt":     "invoicetxt.exe.txt",
			"r\u00e9sum\u00e9 (final).pdf": "r\u00e9sum\u00e9 (final).pdf",
		} {
			content := filetest.Text()
			if strings.HasSuffix(want, ".pdf") {
				content = filetest.PDF("cv")
			}
			if got := fileUpload(t, e, alice, in, content); got.Filename != want {
				t.Errorf("%q stored as %q, want %q", in, got.Filename, want)
			}
		}
		for _, p := range fileStored(t, e) {
			if !strings.HasPrefix(p, e.App.Config.UploadDir+string(filepath.Separator)) {
				t.Errorf("file stored outside the upload directory: %s", p)
			}
		}
	})
}

func TestFileAccess(t *testing.T) {
	apitest.Each(t, filesEnv, func(t *testing.T, e *apitest.Env) {
		alice := fileAccount(t, e, "alice", false)
		bob := fileAccount(t, e, "bob", false)
		root := fileAccount(t, e, "root", true)
		content := filetest.NoisePNG(64, 64)
		f := fileUpload(t, e, alice, "résumé photo.png", content)
		etag := `"` + f.SHA256 + `"`
		meta := "/api/v1/files/" + f.ID
		data := meta + "/content"
		missing := "/api/v1/files/0192f6a4-6a8e-7cc1-9a55-3f7c2d6e8b10"

		e.Run(t, []apitest.Scenario{
			{Name: "owner reads metadata", Request: apitest.Request{URL: meta, Token: alice}, WantStatus: 200,
				Check: func(t *testing.T, res *apitest.Response) {
					var got gen.FileMetadata
					res.DecodeStrict(t, &got)
					created, err := time.Parse(time.RFC3339Nano, f.CreatedAt)
					if err != nil {
						t.Fatal(err)
					}
					want := gen.FileMetadata{Id: uuid.MustParse(f.ID), Filename: "résumé photo.png", ContentType: "image/png",
						Size: int64(len(content)), Sha256: fileSum(content), CreatedAt: created}
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("metadata (-want +got):\n%s", d)
					}
				}},
			{Name: "owner downloads", Request: apitest.Request{URL: data, Token: alice}, WantStatus: 200,
				WantHeaders: map[string]string{
					"Content-Type":           "image/png",
					"Content-Disposition":    `attachment; filename="r_sum_ photo.png"; filename*=UTF-8''r%C3%A9sum%C3%A9%20photo.png`,
					"X-Content-Type-Options": "nosniff",
					"Cache-Control":          "private, no-store",
					"ETag":                   etag,
					"Accept-Ranges":          "bytes",
					"Content-Length":         fmt.Sprint(len(content)),
				},
				Check: func(t *testing.T, res *apitest.Response) {
					if !bytes.Equal(res.Body, content) {
						t.Error("downloaded bytes differ")
					}
					if csp := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
						t.Errorf("Content-Security-Policy = %q", csp)
					}
				}},
			{Name: "range", Request: apitest.Request{URL: data, Token: alice, Headers: map[string]string{"Range": "bytes=100-199"}},
				WantStatus: 206, WantHeaders: map[string]string{"Content-Range": fmt.Sprintf("bytes 100-199/%d", len(content)), "ETag": etag},
				Check: func(t *testing.T, res *apitest.Response) {
					if !bytes.Equal(res.Body, content[100:200]) {
						t.Error("range bytes differ")
					}
				}},
			{Name: "suffix range", Request: apitest.Request{URL: data, Token: alice, Headers: map[string]string{"Range": "bytes=-10"}},
				WantStatus: 206, Check: func(t *testing.T, res *apitest.Response) {
					if !bytes.Equal(res.Body, content[len(content)-10:]) {
						t.Error("suffix range bytes differ")
					}
				}},
			{Name: "several ranges", Request: apitest.Request{URL: data, Token: alice, Headers: map[string]string{"Range": "bytes=0-9,100-109"}},
				WantStatus: 206, Check: func(t *testing.T, res *apitest.Response) {
					if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/byteranges; boundary=") {
						t.Errorf("Content-Type = %q", ct)
					}
				}},
			{Name: "range outside the file", Request: apitest.Request{URL: data, Token: alice, Headers: map[string]string{"Range": "bytes=99999999-"}},
				WantStatus: 416, WantProblem: "range-not-satisfiable",
				WantHeaders: map[string]string{"Content-Range": fmt.Sprintf("bytes */%d", len(content))}},
			{Name: "if-none-match", Request: apitest.Request{URL: data, Token: alice, Headers: map[string]string{"If-None-Match": etag}},
				WantStatus: 304, Check: func(t *testing.T, res *apitest.Response) {
					if len(res.Body) != 0 {
						t.Error("304 with a body")
					}
				}},
			{Name: "if-none-match with another etag", Request: apitest.Request{URL: data, Token: alice, Headers: map[string]string{"If-None-Match": `"other"`}},
				WantStatus: 200},
			{Name: "stranger cannot see metadata", Request: apitest.Request{URL: meta, Token: bob}, WantStatus: 404, WantProblem: "not-found"},
			{Name: "stranger cannot download", Request: apitest.Request{URL: data, Token: bob}, WantStatus: 404, WantProblem: "not-found"},
			{Name: "stranger cannot delete", Request: apitest.Request{Method: "DELETE", URL: meta, Token: bob}, WantStatus: 404, WantProblem: "not-found"},
			{Name: "stranger's answer equals a missing file's", Request: apitest.Request{URL: missing, Token: bob}, WantStatus: 404, WantProblem: "not-found",
				Check: func(t *testing.T, res *apitest.Response) {
					other := e.Do(t, apitest.Request{URL: meta, Token: bob})
					if res.JSON(t)["detail"] != other.JSON(t)["detail"] {
						t.Error("a stranger can tell an existing file from a missing one")
					}
				}},
			{Name: "stranger's list is empty", Request: apitest.Request{URL: "/api/v1/files", Token: bob}, WantStatus: 200,
				Check: func(t *testing.T, res *apitest.Response) {
					if items := res.JSON(t)["items"].([]any); len(items) != 0 {
						t.Errorf("bob sees %v", items)
					}
				}},
			{Name: "anonymous download", Request: apitest.Request{URL: data}, WantStatus: 401, WantProblem: "unauthorized"},
			{Name: "admin reads metadata", Request: apitest.Request{URL: meta, Token: root}, WantStatus: 200},
			{Name: "admin downloads", Request: apitest.Request{URL: data, Token: root}, WantStatus: 200,
				Check: func(t *testing.T, res *apitest.Response) {
					if !bytes.Equal(res.Body, content) {
						t.Error("admin download differs")
					}
				}},
			{Name: "owner deletes", Request: apitest.Request{Method: "DELETE", URL: meta, Token: alice}, WantStatus: 204,
				Check: func(t *testing.T, res *apitest.Response) {
					if files := fileStored(t, e); len(files) != 0 {
						t.Errorf("deleted file still on disk: %v", files)
					}
				}},
			{Name: "deleted file is gone", Request: apitest.Request{URL: data, Token: alice}, WantStatus: 404, WantProblem: "not-found"},
			{Name: "deleting twice", Request: apitest.Request{Method: "DELETE", URL: meta, Token: alice}, WantStatus: 404, WantProblem: "not-found"},
		})

		evs, _, err := e.App.Audit.List(context.Background(), audit.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range evs {
			if strings.HasPrefix(ev.Action, "file.") {
				actions = append(actions, ev.Action)
			}
		}
		for _, a := range []string{file.ActionUploaded, file.ActionDownloaded, file.ActionDeleted} {
			if !slices.Contains(actions, a) {
				t.Errorf("no %s audit event in %v", a, actions)
			}
		}
	})
}

func TestListFilesPages(t *testing.T) {
	apitest.Each(t, filesEnv, func(t *testing.T, e *apitest.Env) {
		alice := fileAccount(t, e, "alice", false)
		var want []string
		for i := range 5 {
			want = append(want, fileUpload(t, e, alice, fmt.Sprintf("n%d.txt", i), filetest.Text()).ID)
		}
		slices.Reverse(want)
		var got []string
		url := "/api/v1/files?limit=2"
		for range 5 {
			res := e.Do(t, apitest.Request{URL: url, Token: alice})
			if res.Status != http.StatusOK {
				t.Fatalf("list: %d %s", res.Status, res.Body)
			}
			var page struct {
				Items      []fileJSON `json:"items"`
				NextCursor *string    `json:"next_cursor"`
			}
			res.Decode(t, &page)
			for _, f := range page.Items {
				got = append(got, f.ID)
			}
			if page.NextCursor == nil {
				break
			}
			url = "/api/v1/files?limit=2&cursor=" + *page.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages = %v, want %v", got, want)
		}
	})
}

// Deleting an account, by its owner or by an admin, removes its files from
// disk and from the database; other accounts' files stay.
func TestDeletingAnAccountDeletesItsFiles(t *testing.T) {
	apitest.Each(t, filesEnv, func(t *testing.T, e *apitest.Env) {
		root := e.NewAccount(t, "root", true)
		alice := e.NewAccount(t, "alice", false)
		bob := e.NewAccount(t, "bob", false)
		fileUpload(t, e, alice.Token, "a.txt", fileText(100))
		fileUpload(t, e, alice.Token, "b.txt", fileText(200))
		kept := fileUpload(t, e, bob.Token, "c.txt", fileText(300))
		if n := len(fileStored(t, e)); n != 3 {
			t.Fatalf("%d files on disk before, want 3", n)
		}
		if res := e.Do(t, apitest.Request{Method: "DELETE", URL: "/api/v1/users/" + alice.ID, Token: root.Token}); res.Status != http.StatusNoContent {
			t.Fatalf("admin delete: %d %s", res.Status, res.Body)
		}
		if n := len(fileStored(t, e)); n != 1 {
			t.Fatalf("%d files on disk after deleting alice, want bob's 1", n)
		}
		if res := e.Do(t, apitest.Request{URL: "/api/v1/files/" + kept.ID, Token: bob.Token}); res.Status != http.StatusOK {
			t.Fatalf("bob's file: %d", res.Status)
		}
		if res := e.Do(t, apitest.Request{Method: "DELETE", URL: "/api/v1/users/me", Token: bob.Token,
			Body: map[string]any{"password": apitest.Password}}); res.Status != http.StatusNoContent {
			t.Fatalf("delete me: %d %s", res.Status, res.Body)
		}
		if n := len(fileStored(t, e)); n != 0 {
			t.Fatalf("%d files left on disk after every owner is gone", n)
		}
		if res := e.Do(t, apitest.Request{URL: "/api/v1/files/" + kept.ID, Token: root.Token}); res.Status != http.StatusNotFound {
			t.Fatalf("a deleted owner's file is still listed: %d", res.Status)
		}
	})
}

// DOWNLOAD_CACHE_CONTROL replaces the default private, no-store on downloads.
func TestDownloadCacheControlIsConfigurable(t *testing.T) {
	env := map[string]string{"DOWNLOAD_CACHE_CONTROL": "private, max-age=60"}
	for k, v := range filesEnv {
		env[k] = v
	}
	e := apitest.New(t, "sqlite", env)
	tok := fileAccount(t, e, "cachy", false)
	f := fileUpload(t, e, tok, "c.txt", fileText(10))
	res := e.Do(t, apitest.Request{URL: "/api/v1/files/" + f.ID + "/content", Token: tok})
	if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "private, max-age=60" {
		t.Fatalf("download: %d, Cache-Control %q", res.Status, res.Header.Get("Cache-Control"))
	}
}

// A browser appends a Blob to FormData under the name "blob": the upload is
// accepted on its content and stored with the type's extension.
func TestUploadBlobWithoutFileName(t *testing.T) {
	apitest.Each(t, filesEnv, func(t *testing.T, e *apitest.Env) {
		alice := fileAccount(t, e, "alice", false)
		f := fileUpload(t, e, alice, "blob", filetest.PNG(8, 8))
		if f.Filename != "blob.png" || f.ContentType != "image/png" {
			t.Fatalf("stored as %q (%s), want blob.png (image/png)", f.Filename, f.ContentType)
		}
		res := e.Do(t, apitest.Request{URL: "/api/v1/files/" + f.ID + "/content", Token: alice})
		if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="blob.png"`) {
			t.Errorf("Content-Disposition = %q", cd)
		}
		bad := e.Do(t, fileUploadRequest(t, alice, "blob", filetest.HTML()))
		if bad.Status != http.StatusUnsupportedMediaType {
			t.Errorf("an HTML blob = %d, want 415", bad.Status)
		}
	})
}

// Types an operator allows beyond the defaults are not in the contract's list
// of download types: they are served as application/octet-stream.
func TestDownloadOfAnOperatorAllowedTypeIsOctetStream(t *testing.T) {
	env := map[string]string{"UPLOAD_ALLOWED_TYPES": "image/png,application/postscript"}
	for k, v := range filesEnv {
		env[k] = v
	}
	e := apitest.New(t, "sqlite", env)
	alice := fileAccount(t, e, "alice", false)
	ps := fileUpload(t, e, alice, "a.ps", []byte("%!PS-Adobe-3.0\n"))
	png := fileUpload(t, e, alice, "a.png", filetest.PNG(8, 8))
	for _, tc := range []struct{ id, want string }{{ps.ID, "application/octet-stream"}, {png.ID, "image/png"}} {
		res := e.Do(t, apitest.Request{URL: "/api/v1/files/" + tc.id + "/content", Token: alice})
		if res.Status != http.StatusOK || res.Header.Get("Content-Type") != tc.want {
			t.Errorf("download = %d %q, want 200 %q", res.Status, res.Header.Get("Content-Type"), tc.want)
		}
	}
}
