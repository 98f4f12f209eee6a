// Package metrics exposes Prometheus metrics on the internal listener only.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the service's collectors in a registry of its own.
type Metrics struct {
	Registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	rateLimited *prometheus.CounterVec
	audit       *prometheus.CounterVec
	logins      *prometheus.CounterVec
	mfa         *prometheus.CounterVec
	mail        *prometheus.CounterVec
	handshakes  prometheus.Counter
}

// New registers the HTTP, rate-limit, audit and login collectors plus the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_request_duration_seconds", Help: "HTTP request latency by method and route template.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight", Help: "HTTP requests being served.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rate_limit_rejections_total", Help: "Requests refused by a rate limit, by rule.",
		}, []string{"rule"}),
		audit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "audit_events_total", Help: "Audit events recorded, by action and outcome.",
		}, []string{"action", "outcome"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_logins_total", Help: "Login attempts by outcome (succeeded, failed).",
		}, []string{"outcome"}),
		mfa: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_mfa_events_total",
			Help: "Two-factor events by step (challenge, verify, enrol, confirm, disable, recovery_codes, admin_reset) and outcome.",
		}, []string{"event", "outcome"}),
		mail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mail_messages_total",
			Help: "Mail by outcome: queued, dropped (recipient limit), discard (stand-in for an unknown address), sent, retry, failed.",
		}, []string{"outcome"}),
		handshakes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "http_tls_handshake_errors_total",
			Help: "TLS handshakes that failed on the public listener (scanners, plain HTTP, untrusted or old clients).",
		}),
	}
	m.Registry.MustRegister(m.requests, m.duration, m.inFlight, m.rateLimited, m.audit, m.logins, m.mfa, m.mail, m.handshakes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Middleware records every request under its route template (never the raw
// path, whose ids would explode the label set).
func (m *Metrics) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			m.inFlight.Inc()
			start := time.Now()
			err := next(c)
			m.inFlight.Dec()
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			status := c.Response().Status
			if err != nil {
				// The error handler has not run yet; count the status it will send.
				if he, ok := err.(*echo.HTTPError); ok {
					status = he.Code
				}
			}
			method := c.Request().Method
			m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
			return err
		}
	}
}

// RateLimited counts a rejection by rule.
func (m *Metrics) RateLimited(rule string) { m.rateLimited.WithLabelValues(rule).Inc() }

// mfaEvents names the two-factor audit actions by the step they record.
var mfaEvents = map[string]string{
	"auth.login.mfa_required":        "challenge",
	"auth.mfa.succeeded":             "verify",
	"auth.mfa.failed":                "verify",
	"mfa.totp.enrolment_started":     "enrol",
	"mfa.totp.enabled":               "confirm",
	"mfa.totp.disabled":              "disable",
	"mfa.recovery_codes.regenerated": "recovery_codes",
	"mfa.reset_by_admin":             "admin_reset",
}

// AuditEvent counts a recorded audit event; logins are also counted by
// outcome (the second step of a two-factor login completes or fails one),
// and two-factor events by step and outcome.
func (m *Metrics) AuditEvent(action, outcome string) {
	m.audit.WithLabelValues(action, outcome).Inc()
	switch action {
	case "auth.login.succeeded", "auth.mfa.succeeded":
		m.logins.WithLabelValues("succeeded").Inc()
	case "auth.login.failed", "auth.mfa.failed":
		m.logins.WithLabelValues("failed").Inc()
	}
	if ev, ok := mfaEvents[action]; ok {
		m.mfa.WithLabelValues(ev, outcome).Inc()
	}
}

// Mail counts a message's outcome in the outbox.
func (m *Metrics) Mail(outcome string) { m.mail.WithLabelValues(outcome).Inc() }

// TLSHandshakeFailed counts a failed TLS handshake.
func (m *Metrics) TLSHandshakeFailed() { m.handshakes.Inc() }

// GaugeFunc registers a gauge read from f at scrape time.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// CounterFunc registers a counter read from f at scrape time.
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// SQLDB registers database/sql pool statistics under db_name.
func (m *Metrics) SQLDB(db *sql.DB, name string) {
	m.Registry.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
