// Package ratelog writes error records through log/slog at most once per interval for each
// kind of failure, so that an outage makes one line per interval, not one per request; the
// next line of a kind says how many were held back.
package ratelog
