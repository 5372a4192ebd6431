//go:build tools

// Package tools pins Flux's source-controller v1.9.3. This module is the controller's own
// go.mod at that tag, renamed, without the ./api replace (the api module is published at the
// same version): `go install pkg@version` refuses a module with replace directives.
// v1.9.3, not v1.9.6: v1.9.4+ need github.com/fluxcd/pkg/artifact v0.18.2+, which the module
// proxy here does not serve (v0.18.1 it does).
package tools

import _ "github.com/fluxcd/source-controller"
