package edge

import _ "embed"

// openapiJSON describes the public API. It is kept by hand; a test checks
// that it describes every route served and every filter parameter.
//
//go:embed openapi.json
var openapiJSON []byte
