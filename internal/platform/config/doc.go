// Package config turns environment variables into a validated Config for the
// API service.
//
// All settings come from environment variables so that the same binary can be
// promoted from a laptop to production without rebuilding. A .env file is
// honoured only in development, and only for variables the real environment
// does not set: production must never depend on a file that may have been
// left behind on a host or baked into an image.
//
// Loading is strict on purpose. A value that cannot be parsed is an error in
// every environment, because silently falling back to a default hides typos
// such as COOKIE_SECURE=ture. In production, settings that weaken security
// (a wildcard CORS origin, debug logging, cookies without the Secure flag,
// a database connection without TLS, and so on) are refused, and every
// problem is reported at once so an operator can fix the whole deployment in
// one pass instead of restarting once per mistake. Development accepts the
// same settings but reports them through Check as warnings.
//
// Secrets never leave the package in clear text through its own output:
// Masked, String and LogValue replace them, and error messages do not echo
// secret values.
package config
