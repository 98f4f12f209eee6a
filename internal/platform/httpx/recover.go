package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/labstack/echo/v4"
)

// Recover turns a panic into a 500 *echo.HTTPError handed to c.Error, and logs
// the panic value and stack at error level with the request id. The client
// only ever sees the generic message; the panic value stays in the log (and in
// the error's Internal field, wrapped so that a panicking *echo.HTTPError
// cannot smuggle its own status or message to the client).
//
// http.ErrAbortHandler is re-panicked because net/http uses it to abort a
// response deliberately and handles it without logging.
func Recover(logger *slog.Logger) echo.MiddlewareFunc {
	if logger == nil {
		logger = slog.Default()
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				if r == http.ErrAbortHandler {
					panic(r)
				}
				stack := debug.Stack()
				req := c.Request()
				logger.LogAttrs(req.Context(), slog.LevelError, "panic recovered",
					slog.String("request_id", RequestIDFrom(req.Context())),
					slog.String("method", req.Method),
					slog.String("route", routeOf(c)),
					slog.String("panic", fmt.Sprint(r)),
					slog.String("stack", string(stack)),
				)
				herr := echo.NewHTTPError(http.StatusInternalServerError, "internal server error")
				herr.Internal = fmt.Errorf("panic: %v", r)
				c.Error(herr)
				err = nil
			}()
			return next(c)
		}
	}
}
