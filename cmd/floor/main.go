// Command floor is the benchmark's reference point: a bare Echo server with
// one route returning static JSON, no middleware. What the service achieves is
// reported as a fraction of what this achieves on the same machine in the same
// run (go run ./cmd/benchhttp).
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/labstack/echo/v4"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	body := []byte(`{"status":"ok"}` + "\n")
	e.GET("/healthz", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, body) })
	log.Fatal(e.Start(*addr))
}
