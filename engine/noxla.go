//go:build noxla

package engine

import (
	"errors"

	"github.com/gomlx/gomlx/backends"
)

func openXLA(string) (backends.Backend, error) {
	return nil, errors.New("backend xla: this binary was built with -tags noxla; rebuild without it (make build) to use a GPU")
}
