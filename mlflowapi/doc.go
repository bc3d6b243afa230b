// Package mlflowapi is MLflow's wire layer, shared by the tracking and registry packages: request decoding
// with MLflow's type rules and messages (Request), the call/serve wrapper (API.Serve, API.Mount), the one
// mapping of errors to MLflow's error_code and HTTP status (Code, API.WriteError), the search filter grammar
// (ParseFilter), page tokens and the steps every search shares (Search), and the artifact download answer.
//
// Domain packages declare sentinels of the shared kinds (package errs) and wrap them with Errorf; the kind
// chooses the wire code (NotFound → RESOURCE_DOES_NOT_EXIST 404, Exists → RESOURCE_ALREADY_EXISTS 400,
// Invalid → INVALID_PARAMETER_VALUE 400, ...), unless the error carries an explicit code (WithCode, e.g.
// MALFORMED_REQUEST). Every 5xx is logged once through the API's logger with the request id, and the client
// sees that id instead of internal text.
package mlflowapi
