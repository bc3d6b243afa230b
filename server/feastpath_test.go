package server

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFeastPath(t *testing.T) {
	for path, want := range map[string]bool{
		"/get-online-features": true, "/push": true, "/feast/dev/get-online-features": true, "/feast/prod/push": true,
		"/feast/dev": false, "/api/v1/envs": false, "/pushx": false, "/feast/dev/other": false,
	} {
		require.Equal(t, want, feastPath(path), path)
	}
}
