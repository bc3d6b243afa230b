//go:build duckdb_arrow

package sqlwire_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/stretchr/testify/require"
)

// TestInterleavedPortalsAndOneStatementPerParse: two portals of one named statement, bound with different
// parameters, are suspended and resumed in turn, each keeping its own position (Describe of the statement
// gives ParameterDescription and RowDescription); a Parse of two statements is 42601, as in PostgreSQL.
func TestInterleavedPortalsAndOneStatementPerParse(t *testing.T) {
	f := start(t)
	c := f.connect(t, "dev", pgx.QueryExecModeSimpleProtocol)
	fe := c.PgConn().Frontend()
	fe.Send(&pgproto3.Parse{Query: "SELECT 1 AS a; SELECT 2 AS b"})
	fe.Send(&pgproto3.Bind{})
	fe.Send(&pgproto3.Execute{})
	fe.Send(&pgproto3.Sync{})
	require.NoError(t, fe.Flush())
	require.Equal(t, []string{"Error 42601", "ReadyForQuery I"}, drain(t, fe))

	fe.Send(&pgproto3.Query{String: "BEGIN"})
	require.NoError(t, fe.Flush())
	require.Equal(t, []string{"ReadyForQuery T"}, drain(t, fe))
	fe.Send(&pgproto3.Parse{Name: "s", Query: "SELECT i FROM range(4) t(i) WHERE i >= $1 ORDER BY i"})
	fe.Send(&pgproto3.Describe{ObjectType: 'S', Name: "s"})
	fe.Send(&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: "p1", Parameters: [][]byte{[]byte("0")}})
	fe.Send(&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: "p2", Parameters: [][]byte{[]byte("2")}})
	fe.Send(&pgproto3.Execute{Portal: "p1", MaxRows: 1})
	fe.Send(&pgproto3.Execute{Portal: "p2", MaxRows: 1})
	fe.Send(&pgproto3.Execute{Portal: "p1", MaxRows: 1})
	fe.Send(&pgproto3.Execute{Portal: "p2"})
	fe.Send(&pgproto3.Execute{Portal: "p1"})
	fe.Send(&pgproto3.Sync{})
	require.NoError(t, fe.Flush())
	require.Equal(t, []string{"ParseComplete", "ParameterDescription", "RowDescription", "BindComplete", "BindComplete",
		"0", "PortalSuspended", "2", "PortalSuspended", "1", "PortalSuspended", "3", "CommandComplete SELECT 2",
		"2", "3", "CommandComplete SELECT 4", "ReadyForQuery T"}, drain(t, fe))
}
