package mlflowapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Pages: one row more than a page means another page; an exactly full last page has no token (as MLflow).
func TestSearchPaging(t *testing.T) {
	s, err := NewSearch("name = 'a'", "", 2)
	require.NoError(t, err)
	require.Len(t, s.Clauses, 1)
	var a SQLArgs
	require.Equal(t, "LIMIT $1 OFFSET $2", s.LimitOffset(&a))
	require.Equal(t, SQLArgs{int64(3), int64(0)}, a)
	page, next := Paginate(s, []int{1, 2, 3})
	require.Equal(t, []int{1, 2}, page)
	s2, err := NewSearch("", next, 2)
	require.NoError(t, err)
	require.EqualValues(t, 2, s2.Offset)
	page, next = Paginate(s2, []int{3, 4})
	require.Equal(t, []int{3, 4}, page)
	require.Empty(t, next)

	for _, bad := range [][2]string{{"", "not-a-token"}, {"a = ", ""}} {
		_, err := NewSearch(bad[0], bad[1], 1)
		require.True(t, errors.Is(err, ErrInvalid), bad)
	}
}

// Text reads tag values and enums as MLflow does: numbers and booleans as written, no objects.
func TestRequestText(t *testing.T) {
	req, err := ReadRequest(httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"n":12345,"b":true,"s":"x","o":{}}`)))
	require.NoError(t, err)
	for field, want := range map[string]string{"n": "12345", "b": "true", "s": "x", "missing": ""} {
		got, err := req.Text(field)
		require.NoError(t, err)
		require.Equal(t, want, got, field)
	}
	_, err = req.Text("o")
	require.ErrorContains(t, err, "Invalid value {} for parameter 'o' supplied.")
}
