package sqlwire

import (
	"strconv"

	"github.com/strata-data/strata/lakesql"
)

// paramCount returns the highest $n that occurs in sql outside literals and comments.
func paramCount(sql string) int {
	n := 0
	skipTo := -1
	lakesql.Scan(sql, func(i int) {
		if i < skipTo || sql[i] != '$' {
			return
		}
		j := i + 1
		for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
			j++
		}
		if v, err := strconv.Atoi(sql[i+1 : j]); err == nil && v > n {
			n = v
		}
		skipTo = j
	})
	return n
}
