package tracking

import (
	"github.com/strata-data/strata/errs"
	"github.com/strata-data/strata/mlflowapi"
)

// Sentinel errors. Store methods return errors that wrap one of them (errors.Is) and so its kind; the message
// of the wrapping error is what MLflow clients see, and mlflowapi.Code picks the wire code from the kind.
var (
	ErrNotFound       = errs.New(errs.NotFound, "not found")
	ErrAlreadyExists  = errs.New(errs.Exists, "already exists")
	ErrInvalid        = errs.New(errs.Invalid, "invalid parameter value")
	ErrNotImplemented = errs.New(errs.Unsupported, "not implemented")
)

func invalidf(format string, args ...any) error { return mlflowapi.Errorf(ErrInvalid, format, args...) }
func notFoundf(format string, args ...any) error {
	return mlflowapi.Errorf(ErrNotFound, format, args...)
}
