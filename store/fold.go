package store

import (
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// foldFunc is an SQL function lowering text with Unicode rules; SQLite's own
// LIKE and lower() only fold ASCII, so searches for non-ASCII text use it.
const foldFunc = "xchat_fold"

func fold(s string) string { return strings.ToLower(s) }

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(foldFunc, 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return fold(v), nil
			case []byte:
				return fold(string(v)), nil
			}
			return args[0], nil
		})
}
