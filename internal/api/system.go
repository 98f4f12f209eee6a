package api

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	gen "secureapi/gen/api"
	"secureapi/internal/platform/apperr"
)

func (s *Server) GetHealth(ctx context.Context, _ gen.GetHealthRequestObject) (gen.GetHealthResponseObject, error) {
	return gen.GetHealth200JSONResponse{Body: gen.Health{Status: "ok"}}, nil
}

var errNotReady = apperr.Retry(apperr.Unavailable, "The service is not ready: the database is unreachable or migrations are pending.", 5*time.Second)

func (s *Server) GetReady(ctx context.Context, _ gen.GetReadyRequestObject) (gen.GetReadyResponseObject, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		s.Log.WarnContext(ctx, "not ready", "err", err)
		return nil, errNotReady
	}
	return gen.GetReady200JSONResponse{Body: gen.Health{Status: "ready"}}, nil
}

func (s *Server) GetJWKS(ctx context.Context, _ gen.GetJWKSRequestObject) (gen.GetJWKSResponseObject, error) {
	raw, err := s.Keys.JWKS()
	if err != nil {
		return nil, err
	}
	var set gen.JWKS
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("decode jwks: %w", err)
	}
	return gen.GetJWKS200JSONResponse{Body: set}, nil
}
