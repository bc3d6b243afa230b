package server

import (
	"encoding/json"
	"net/http"
)

// apiError is the JSON error body of the server's own refusals (no route, bad Host, cross-origin request),
// the same shape as package api's.
type apiError struct {
	Code    string `json:"error_code"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Code: code, Message: msg})
}
