package engine

import (
	"errors"
	"fmt"
)

// Try runs fn and turns a panic raised inside it into an error. GoMLX reports
// graph-building errors by panicking; cotrain converts them at package
// boundaries with Try so that callers see ordinary errors.
func Try(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			switch e := r.(type) {
			case error:
				err = e
			case string:
				err = errors.New(e)
			default:
				err = fmt.Errorf("%v", e)
			}
		}
	}()
	fn()
	return nil
}
