package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"secureapi/internal/api/apitest"
)

// The published documents are the contract front-end generators read: the
// YAML must be the repository file itself and the JSON the same document,
// key for key and in the same order (generators name types after keys, and
// a converter that goes through a typed model drops or reorders fields).
func TestPublishedSpecIsTheRepositoryFile(t *testing.T) {
	file, err := os.ReadFile(filepath.Join("..", "..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e := apitest.New(t, "sqlite", nil)

	yamlRes := e.Do(t, apitest.Request{URL: "/openapi.yaml"})
	if yamlRes.Status != 200 {
		t.Fatalf("GET /openapi.yaml = %d", yamlRes.Status)
	}
	if !bytes.Equal(yamlRes.Body, file) {
		t.Fatalf("GET /openapi.yaml differs from openapi.yaml (%d vs %d bytes)", len(yamlRes.Body), len(file))
	}
	if ct := yamlRes.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/yaml") {
		t.Errorf("yaml Content-Type = %q", ct)
	}

	jsonRes := e.Do(t, apitest.Request{URL: "/openapi.json"})
	if jsonRes.Status != 200 {
		t.Fatalf("GET /openapi.json = %d", jsonRes.Status)
	}
	if ct := jsonRes.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("json Content-Type = %q", ct)
	}

	t.Run("json is the same document", func(t *testing.T) {
		var fromYAML any
		if err := yaml.Unmarshal(file, &fromYAML); err != nil {
			t.Fatal(err)
		}
		// Through encoding/json so both sides have JSON's types (float64, map[string]any).
		js, err := json.Marshal(fromYAML)
		if err != nil {
			t.Fatal(err)
		}
		var want, got any
		if err := json.Unmarshal(js, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(jsonRes.Body, &got); err != nil {
			t.Fatalf("decode /openapi.json: %v", err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("/openapi.json is not openapi.yaml (-yaml +json):\n%s", d)
		}
	})

	t.Run("json keeps the yaml key order", func(t *testing.T) {
		var doc yaml.Node
		if err := yaml.Unmarshal(file, &doc); err != nil {
			t.Fatal(err)
		}
		want := yamlKeyPaths(doc.Content[0], "")
		got := jsonKeyPaths(t, jsonRes.Body)
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("key order differs (-yaml +json):\n%s", d)
		}
	})

	t.Run("fields a typed model would lose are there", func(t *testing.T) {
		var doc struct {
			Paths      map[string]map[string]json.RawMessage `json:"paths"`
			Components struct {
				Parameters map[string]map[string]any `json:"parameters"`
			} `json:"components"`
		}
		if err := json.Unmarshal(jsonRes.Body, &doc); err != nil {
			t.Fatal(err)
		}
		var op struct {
			OperationID string `json:"operationId"`
		}
		if err := json.Unmarshal(doc.Paths["/api/v1/users/me"]["get"], &op); err != nil {
			t.Fatal(err)
		}
		if id := op.OperationID; id != "getMe" {
			t.Errorf("operationId of GET /api/v1/users/me = %q, want getMe", id)
		}
		req, ok := doc.Components.Parameters["RefreshCookie"]["required"]
		if !ok || req != false {
			t.Errorf("RefreshCookie required = %v (present %v), want an explicit false", req, ok)
		}
	})

	for _, tc := range []struct {
		url  string
		body []byte
	}{{"/openapi.yaml", yamlRes.Body}, {"/openapi.json", jsonRes.Body}} {
		t.Run("revalidation of "+tc.url, func(t *testing.T) {
			first := e.Do(t, apitest.Request{URL: tc.url})
			etag := first.Header.Get("ETag")
			if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 3 {
				t.Fatalf("ETag = %q, want a strong quoted tag", etag)
			}
			if cc := first.Header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", cc)
			}
			same := e.Do(t, apitest.Request{URL: tc.url, Headers: map[string]string{"If-None-Match": etag}})
			if same.Status != 304 || len(same.Body) != 0 {
				t.Fatalf("If-None-Match with the current tag = %d (%d bytes), want 304 without a body", same.Status, len(same.Body))
			}
			if same.Header.Get("ETag") != etag {
				t.Errorf("304 ETag = %q, want %q", same.Header.Get("ETag"), etag)
			}
			listed := e.Do(t, apitest.Request{URL: tc.url, Headers: map[string]string{"If-None-Match": `"other", ` + etag}})
			if listed.Status != 304 {
				t.Errorf("If-None-Match listing the tag = %d, want 304", listed.Status)
			}
			stale := e.Do(t, apitest.Request{URL: tc.url, Headers: map[string]string{"If-None-Match": `"stale"`}})
			if stale.Status != 200 || !bytes.Equal(stale.Body, tc.body) {
				t.Fatalf("If-None-Match with another tag = %d, want 200 and the document", stale.Status)
			}
		})
	}
}

// yamlKeyPaths lists every mapping key of n as a path, in document order.
func yamlKeyPaths(n *yaml.Node, prefix string) []string {
	var out []string
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := prefix + "/" + n.Content[i].Value
			out = append(out, p)
			out = append(out, yamlKeyPaths(n.Content[i+1], p)...)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			out = append(out, yamlKeyPaths(c, prefix+"/"+strconv.Itoa(i))...)
		}
	case yaml.AliasNode:
		out = append(out, yamlKeyPaths(n.Alias, prefix)...)
	}
	return out
}

// jsonKeyPaths lists every object key of a JSON document as a path, in order.
func jsonKeyPaths(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	var out []string
	var walk func(prefix string)
	walk = func(prefix string) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("json: %v", err)
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					t.Fatalf("json: %v", err)
				}
				p := prefix + "/" + k.(string)
				out = append(out, p)
				walk(p)
			}
			if _, err := dec.Token(); err != nil {
				t.Fatalf("json: %v", err)
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				walk(prefix + "/" + strconv.Itoa(i))
			}
			if _, err := dec.Token(); err != nil {
				t.Fatalf("json: %v", err)
			}
		}
	}
	walk("")
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("trailing data after the document: %v", err)
	}
	return out
}
