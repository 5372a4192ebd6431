//go:build tools

// Package tools pins Flux's kustomize-controller v1.9.6. This module is the controller's own go.mod at
// that tag, renamed, without the ./api replace (the api module is published at the same
// version): `go install pkg@version` refuses a module with replace directives.
package tools

import _ "github.com/fluxcd/kustomize-controller"
