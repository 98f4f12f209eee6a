package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"secureapi/internal/auth"
)

// publicHashing are the operations anyone may call that hash a password:
// what a login or sign-up flood sends. The operations that hash for a
// signed-in caller are refused by the service once the caller is known.
// Keyed by route, with the method.
var publicHashing = map[string]string{
	"/api/v1/auth/login":          http.MethodPost,
	"/api/v1/auth/register":       http.MethodPost,
	"/api/v1/auth/password/reset": http.MethodPost,
}

// hashAdmission answers a request for one of ops with the hasher's 429 at
// once while the hasher is saturated, before the body is read, validated
// and decoded. In a flood that is most requests, and each refusal then
// costs a fraction of the work; the service still decides for the rest.
func hashAdmission(a *auth.Service, ops map[string]string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if m, ok := ops[c.Path()]; ok && m == c.Request().Method {
				if err := a.Busy(); err != nil {
					return err
				}
			}
			return next(c)
		}
	}
}
